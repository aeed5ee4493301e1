"""printers: the printers_devices table.

Author-owned, like every file in this folder: once a site has applied a revision, never edit it; add a new
one. The first revision starts the plugin's own Alembic branch, labelled "printers", and depends on the
core revision that creates `assets`.

Revision ID: printers_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "printers_0001"
down_revision = None
branch_labels = ("printers",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "printers_devices",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("queue_name", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_printers_devices_asset_id_assets"),
        sa.PrimaryKeyConstraint("asset_id", name="pk_printers_devices"),
        sa.UniqueConstraint("queue_name", name="uq_printers_devices_queue_name"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    for column in ("model", "ip_address", "updated_at"):
        op.create_index(f"ix_printers_devices_{column}", "printers_devices", [column])


def downgrade():
    op.drop_table("printers_devices")  # drops its indexes with it
