"""equipment: the equipment_details table.

Author-owned, like every file in this folder: once a site has applied a revision, never edit it; add a new
one (see README.md). The first revision starts the plugin's own Alembic branch, labelled
"equipment", and depends on the core revision that creates `assets`.

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
        "equipment_details",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_equipment_details_asset_id_assets"),
        sa.PrimaryKeyConstraint("asset_id", name="pk_equipment_details"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_equipment_details_updated_at", "equipment_details", ["updated_at"])


def downgrade():
    op.drop_index("ix_equipment_details_updated_at", table_name="equipment_details")
    op.drop_table("equipment_details")
