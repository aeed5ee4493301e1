"""Fixtures for the plugin framework's tests: app.plugins.testing plus the fixture plugins' paths."""
from pathlib import Path

import pytest

from app.plugins.testing import *  # noqa: F401,F403

# fixtures/good: gadgets (two revisions), gizmos (one); fixtures/broken: crashy, oldcore, squatter, mislabel,
# mismatch; fixtures/dupe: a second "gadgets".
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def shopdb_plugin_paths():
    return [str(FIXTURES / "good")]


@pytest.fixture(scope="module", autouse=True)
def _forget_fixture_tables():
    """Take the fixture plugins' tables off the shared metadata after each module, so the core's
    model/migration drift check (`flask db check`) never sees them. (Module scope: this directory is not a
    package, and "package" scope would last until the end of the whole session.)"""
    yield
    from app.extensions import db

    for mapper in list(db.Model.registry.mappers):
        table = mapper.local_table
        if mapper.class_.__module__.startswith("_shopdb_plugin_path_") and table.name in db.metadata.tables:
            db.metadata.remove(table)
