"""Asset filter indexes end with deleted_at: a filtered list page and its count walk one index.

Revision ID: core_0004
Revises: core_0003
"""
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

FILTERS = ("asset_type_id", "status", "location_id")


def upgrade():
    # The new index is created before the old one goes: each column is a foreign key, which needs an index.
    with op.batch_alter_table("assets") as batch_op:
        for column in FILTERS:
            batch_op.create_index(f"ix_assets_{column}_deleted_at", [column, "deleted_at"], unique=False)
    with op.batch_alter_table("assets") as batch_op:
        for column in FILTERS:
            batch_op.drop_index(f"ix_assets_{column}")


def downgrade():
    with op.batch_alter_table("assets") as batch_op:
        for column in FILTERS:
            batch_op.create_index(f"ix_assets_{column}", [column], unique=False)
    with op.batch_alter_table("assets") as batch_op:
        for column in FILTERS:
            batch_op.drop_index(f"ix_assets_{column}_deleted_at")
