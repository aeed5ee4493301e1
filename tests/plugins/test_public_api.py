"""The API plugins may rely on: the documented list in docs/PLUGIN-HOOKS.md matches `app.api.common`'s docstring
and covers every name the template and the first-party plugins import from `app`; `snapshot()` gives JSON
for every column type; ETags follow every row a body shows."""
import enum
import hashlib
import importlib
import importlib.util
import json
import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import (JSON, Column, Date, DateTime, Enum, Integer, Interval, LargeBinary, MetaData, Numeric, Table,
                        Time, Uuid, create_engine, insert, select)

import app.api.common as common
from app.api.common import etag_for, etag_of, snapshot

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "PLUGIN-HOOKS.md").read_text()
# `- **`module`**: `name`, `name`, ...` : the leading run of backticked names is the frozen list.
FROZEN = re.compile(r"^- \*\*`(app[\w.]*)`\*\*: ((?:`\w+`,?\s*)+)", re.MULTILINE)
IMPORT = re.compile(r"^\s*from (app[\w.]*) import (\([^)]*\)|[^\n]*)", re.MULTILINE)


def documented():
    return {module: set(re.findall(r"`(\w+)`", names)) for module, names in FROZEN.findall(DOC)}


def imported():
    """(module, name) for every import from `app` in the template and the first-party plugins."""
    sources = [*(REPO / "copier-plugin").rglob("*.py*"), *(REPO / "plugins").rglob("*.py")]
    found = set()
    for source in sources:
        for module, names in IMPORT.findall(source.read_text()):
            for name in re.sub(r"#[^\n]*", "", names).strip("()").split(","):
                if name.strip():
                    found.add((module, name.split(" as ")[0].strip(), source.relative_to(REPO).as_posix()))
    return found


def test_every_documented_name_exists():
    listed = documented()
    assert {"app.api.common", "app.models", "app.plugins", "app.extensions"} <= set(listed)
    for module, names in listed.items():
        loaded = importlib.import_module(module)
        missing = sorted(n for n in names if not hasattr(loaded, n) and importlib.util.find_spec(f"{module}.{n}") is None)
        assert not missing, f"docs/PLUGIN-HOOKS.md lists {module} names that do not exist: {missing}"


def test_the_doc_and_the_common_docstring_list_the_same_names():
    header = common.__doc__.split("Typical plugin view")[0].split("frozen:", 1)[1]
    # Each line: names separated by ", ", then two or more spaces, then what they are for.
    names = {name.strip() for line in header.strip().splitlines()
             for name in re.split(r"\s{2,}", line.strip())[0].split(",")}
    in_docstring = {name for name in names if name.isidentifier() and hasattr(common, name)}
    assert documented()["app.api.common"] == in_docstring
    assert {"UTCDateTime", "patch_schema", "etag_for", "commit_or_409"} <= in_docstring


def test_the_template_and_first_party_plugins_import_only_documented_names():
    listed = documented()
    undocumented = sorted(f"{source}: from {module} import {name}" for module, name, source in imported()
                          if name != "*" and name not in listed.get(module, set()))
    assert not undocumented, "imports from app that docs/PLUGIN-HOOKS.md does not list as frozen: " + \
        "; ".join(undocumented)
    stars = {module for module, name, _ in imported() if name == "*"}
    assert stars <= {"app.plugins.testing"}


class Coating(enum.Enum):
    TIN = "TiN"
    NONE = "none"


def test_snapshot_is_json_for_every_column_type():
    """Values as a real database returns them (SQLite through SQLAlchemy), then through snapshot()."""
    table = Table("tooling_details", MetaData(), Column("id", Integer, primary_key=True),
                  Column("diameter_mm", Numeric(10, 3)), Column("last_regrind", Date), Column("shift_start", Time),
                  Column("checked_at", DateTime), Column("coating", Enum(Coating, native_enum=False)),
                  Column("batch", Uuid), Column("photo", LargeBinary), Column("extra", JSON),
                  Column("interval", Interval), Column("deleted_marker", Integer))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    batch = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with engine.begin() as conn:
        conn.execute(insert(table).values(
            id=1, diameter_mm=Decimal("12.500"), last_regrind=date(2026, 11, 2), shift_start=time(6, 30),
            checked_at=datetime(2026, 11, 2, 7, 15, 0, 250000), coating=Coating.TIN, batch=batch, photo=b"\x00\xff",
            extra={"note": "ok", "when": [1, 2]}, interval=timedelta(hours=1), deleted_marker=0))
        row = conn.execute(select(table)).one()
    obj = SimpleNamespace(__table__=table, **row._asdict())

    data = snapshot(obj)
    assert json.loads(json.dumps(data)) == data
    assert data == {"id": 1, "diameter_mm": "12.500", "last_regrind": "2026-11-02", "shift_start": "06:30:00",
                    "checked_at": "2026-11-02T07:15:00.250000+00:00", "coating": "TiN", "batch": str(batch),
                    "photo": "AP8=", "extra": {"note": "ok", "when": [1, 2]}, "interval": 3600.0}
    aware = SimpleNamespace(__table__=table, **(row._asdict() | {
        "checked_at": datetime(2026, 11, 2, 9, 15, tzinfo=timezone(timedelta(hours=2)))}))
    assert snapshot(aware)["checked_at"] == "2026-11-02T07:15:00+00:00"  # converted to UTC, as UTCDateTime
    empty = SimpleNamespace(__table__=table, **{c.key: None for c in table.columns})
    assert set(snapshot(empty, exclude=()).values()) == {None}


def test_etag_covers_every_version_the_body_shows():
    legacy = hashlib.sha256(b"assets:7:3").hexdigest()[:32]
    assert etag_for("assets", 7, 3) == legacy  # one version: the ETags clients hold stay valid
    row = SimpleNamespace(__tablename__="x_details", id=7, version=3)
    assert etag_of(row) == etag_for("x_details", 7, 3)
    shown = SimpleNamespace(__tablename__="x_details", id=7, version=3, etag_versions=(3, 1))
    renamed = SimpleNamespace(__tablename__="x_details", id=7, version=3, etag_versions=(3, 2))
    assert len({etag_of(row), etag_of(shown), etag_of(renamed)}) == 3
