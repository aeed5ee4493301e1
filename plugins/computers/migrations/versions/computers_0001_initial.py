"""computers: the computers_hosts table.

Author-owned, like every file in this folder: once a site has applied a revision, never edit it; add a new
one. The first revision starts the plugin's own Alembic branch, labelled "computers", and depends on the
core revision that creates `assets`.

Revision ID: computers_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "computers_0001"
down_revision = None
branch_labels = ("computers",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "computers_hosts",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("hostname", sa.String(253), nullable=False),
        sa.Column("os", sa.String(100), nullable=True),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("mac_address", sa.String(17), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_computers_hosts_asset_id_assets"),
        sa.PrimaryKeyConstraint("asset_id", name="pk_computers_hosts"),
        sa.UniqueConstraint("hostname", name="uq_computers_hosts_hostname"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    for column in ("os", "ip_address", "mac_address", "updated_at"):
        op.create_index(f"ix_computers_hosts_{column}", "computers_hosts", [column])


def downgrade():
    op.drop_table("computers_hosts")  # drops its indexes with it
