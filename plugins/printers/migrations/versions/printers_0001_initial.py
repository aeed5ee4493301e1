"""printers: the printers_details table.

Author-owned, like every file in this folder: once a site has applied a revision, never edit it; add a new
one (see README.md). The first revision starts the plugin's own Alembic branch, labelled
"printers", and depends on the core revision that creates `assets`.

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
        "printers_details",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name="fk_printers_details_asset_id_assets"),
        sa.PrimaryKeyConstraint("asset_id", name="pk_printers_details"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_printers_details_updated_at", "printers_details", ["updated_at"])


def downgrade():
    op.drop_index("ix_printers_details_updated_at", table_name="printers_details")
    op.drop_table("printers_details")
