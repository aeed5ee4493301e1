"""docs/SCHEMA-CHANGES.md's patterns for a plugin table that already has rows, run as written (the doc's own
code blocks) on SQLite and MariaDB: the naive NOT NULL column fails, the server default and the data step
work, the CHECK constraint gets its conventional name and refuses bad rows."""
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from app.extensions import db

DOC = (Path(__file__).resolve().parents[2] / "docs" / "SCHEMA-CHANGES.md").read_text()
BLOCKS = [re.sub(r"^  ", "", block, flags=re.MULTILINE) for block in re.findall(r"```python\n(.*?)```", DOC, re.S)]


def _block(containing):
    (found,) = [b for b in BLOCKS if containing in b]
    return found


@pytest.fixture
def op(database_url):
    """Alembic operations on a database holding a `tooling_details` table with two rows, with the app's
    metadata as target (so its naming convention applies, as in the real migration environment)."""
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE tooling_details (asset_id INTEGER PRIMARY KEY, diameter_mm NUMERIC(10, 3))"))
        conn.execute(sa.text("INSERT INTO tooling_details VALUES (1, 6.0), (2, 12.5)"))
    with engine.begin() as conn:
        yield Operations(MigrationContext.configure(conn, opts={"target_metadata": db.metadata}))
    engine.dispose()


def _rows(op, column):
    return op.get_bind().execute(sa.text(f"SELECT asset_id, {column} FROM tooling_details ORDER BY asset_id")).all()


def test_a_naive_not_null_column_fails_on_a_table_with_rows(op):
    naive = sa.Column("tool_number", sa.String(32), nullable=False)
    if op.get_bind().dialect.name != "sqlite":  # MariaDB fills in '' instead (the doc says so)
        op.add_column("tooling_details", naive)
        assert _rows(op, "tool_number") == [(1, ""), (2, "")]
        return
    with pytest.raises(sa.exc.OperationalError, match="Cannot add a NOT NULL column with default value NULL"):
        op.add_column("tooling_details", naive)


def test_a_server_default_fills_the_existing_rows(op):
    exec(_block('server_default="none"'), {"op": op, "sa": sa})
    assert _rows(op, "coating") == [(1, "none"), (2, "none")]


def test_the_data_step_gives_each_row_its_value_then_not_null(op):
    namespace = {"op": op, "sa": sa}
    exec(_block("def upgrade():"), namespace)
    namespace["upgrade"]()
    assert _rows(op, "tool_number") == [(1, "T-1"), (2, "T-2")]
    inspector = sa.inspect(op.get_bind())
    column = next(c for c in inspector.get_columns("tooling_details") if c["name"] == "tool_number")
    assert column["nullable"] is False
    assert [u["name"] for u in inspector.get_unique_constraints("tooling_details")] == ["uq_tooling_details_tool_number"]


def test_a_check_constraint_gets_the_conventional_name_and_holds(op):
    check = _block("op.create_check_constraint")
    if op.get_bind().dialect.name == "sqlite":  # as the doc says: SQLite needs the batch form
        check = check.replace('op.create_check_constraint("diameter_positive", "tooling_details",',
                              'batch.create_check_constraint("diameter_positive",')
        check = 'with op.batch_alter_table("tooling_details") as batch:\n    ' + check.split("  #")[0]
    exec(check, {"op": op, "sa": sa})
    names = [c["name"] for c in sa.inspect(op.get_bind()).get_check_constraints("tooling_details")]
    assert "ck_tooling_details_diameter_positive" in names
    # SQLite reports the violation as an IntegrityError, MariaDB as an OperationalError (4025), as the doc says.
    with pytest.raises((sa.exc.IntegrityError, sa.exc.OperationalError), match="diameter_positive|CHECK"):
        op.get_bind().execute(sa.text("INSERT INTO tooling_details VALUES (3, -1)"))
