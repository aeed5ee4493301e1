"""Sessions that end and scoped tokens: users.session_epoch, api_tokens scope/networks/last use, refresh families.

Additive only (nullable columns or columns with a server default), so the previous release runs on it.

Revision ID: core_0003
Revises: core_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=16), server_default="read-write", nullable=False))
        batch_op.add_column(sa.Column("allowed_networks", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("token_blocklist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("token_blocklist", schema=None) as batch_op:
        batch_op.drop_column("client")
        batch_op.drop_column("family")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("allowed_networks")
        batch_op.drop_column("scope")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
