"""equipment: the equipment_machines table.

Author-owned, like every file in this folder: once a site has applied a revision, never edit it; add a new
one. The first revision starts the plugin's own Alembic branch, labelled "equipment", and depends on the
core revision that creates `assets`.

Revision ID: equipment_0001
"""
import sqlalchemy as sa
from alembic import op

revision = "equipment_0001"
down_revision = None
branch_labels = ("equipment",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "equipment_machines",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("make", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("controller", sa.String(100), nullable=True),
        sa.Column("serial", sa.String(128), nullable=True),
        sa.Column("install_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_equipment_machines_asset_id_assets"),
        sa.PrimaryKeyConstraint("asset_id", name="pk_equipment_machines"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    for column in ("make", "model", "controller", "serial", "updated_at"):
        op.create_index(f"ix_equipment_machines_{column}", "equipment_machines", [column])


def downgrade():
    op.drop_table("equipment_machines")  # drops its indexes with it
