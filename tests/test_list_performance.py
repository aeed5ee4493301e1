"""What bench/api.py found, kept fixed (docs/PERFORMANCE.md): list pages cost a constant number of queries; on
MariaDB a deep page skips its offset on an index and joins only its own rows, never sorting every live asset;
the last page needs no count query."""

from datetime import datetime

import flask_migrate
import pytest
from sqlalchemy import insert, select, text

from app.auth import hash_password, issue_api_token
from app.extensions import db
from app.models import Asset, AssetType, Location, User


@pytest.fixture
def viewer(api_as, seeded):
    return api_as("viewer")


def add_assets(app, count):
    """Bulk-insert *count* live assets spread over the seeded types (fast: one executemany)."""
    now = datetime(2026, 1, 1)
    with app.app_context():
        types = db.session.scalars(select(AssetType.id)).all()
        location = db.session.scalar(select(Location.id))
        db.session.execute(insert(Asset), [
            {"asset_tag": f"B-{n:05d}", "name": f"Bench {n}", "asset_type_id": types[n % len(types)],
             "status": "in_service", "location_id": location if n % 3 else None, "version": 1,
             "created_at": now, "updated_at": now} for n in range(count)])
        db.session.commit()


def seeded_mariadb(app_factory, url):
    """A migrated, seeded app on a fresh MariaDB database, as the EXPLAIN tests need it."""
    app = app_factory(url)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    return app


def analysed_viewer_token(app):
    """A viewer's API token, after ANALYZE, so MariaDB plans with the rows just inserted."""
    with app.app_context():
        user = User(username="bench", password_hash=hash_password("bench-password-1234"), role="viewer")
        _row, token = issue_api_token(user, "test")
        db.session.commit()
        db.session.execute(text("ANALYZE TABLE assets, asset_types, locations")).all()
    return token


@pytest.mark.parametrize("extra", ["", "&count=false"])
def test_list_queries_do_not_grow_with_page_size(app, viewer, sql_statements, extra):
    add_assets(app, 520)
    sizes = {}
    for per_page in (10, 500):
        with sql_statements(app) as seen:
            response = viewer.get(f"/api/assets?per_page={per_page}{extra}")
        assert response.status_code == 200 and len(response.get_json()["items"]) == per_page
        sizes[per_page] = seen
    assert len(sizes[10]) == len(sizes[500]), sizes
    # auth (blocklist lookup, user) + the page's keys + its rows + count: a handful, whatever the page size.
    assert len(sizes[500]) <= 5, sizes[500]
    if extra:
        assert not any("count(" in sql.lower() for sql in sizes[500])


@pytest.mark.mariadb
def test_deep_list_page_skips_rows_on_an_index_on_mariadb(app_factory, empty_mariadb_url, sql_statements):
    app = seeded_mariadb(app_factory, empty_mariadb_url)
    add_assets(app, 3000)
    token = analysed_viewer_token(app)
    with sql_statements(app) as seen:
        response = app.test_client().get("/api/assets?page=40&count=false",
                                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and [a["id"] for a in response.get_json()["items"]] == list(range(1951, 2001))
    keys_sql = next(s for s in seen if "FROM assets" in s and "LIMIT" in s)
    rows_sql = next(s for s in seen if "FROM assets" in s and " IN (" in s)
    with app.app_context():
        connection = db.session.connection()
        keys_plan = connection.exec_driver_sql("EXPLAIN " + keys_sql).mappings().all()
        rows_plan = connection.exec_driver_sql("EXPLAIN " + rows_sql).mappings().all()
        db.engine.dispose()
    # The deep offset is skipped on an index alone, joining nothing...
    assert [row["table"] for row in keys_plan] == ["assets"] and "Using index" in keys_plan[0]["Extra"], keys_plan
    # ...and only the page's rows are joined, assets first (with an inner join MariaDB sorted them all).
    assert rows_plan[0]["table"] == "assets", rows_plan
    for plan in (keys_plan, rows_plan):
        assert not any("filesort" in (row["Extra"] or "") or "temporary" in (row["Extra"] or "") for row in plan), plan

def test_last_page_gives_the_total_without_a_count_query(app, viewer, sql_statements):
    add_assets(app, 25)
    with sql_statements(app) as full:
        first = viewer.get("/api/assets?per_page=10&page=2").get_json()
    with sql_statements(app) as last:
        final = viewer.get("/api/assets?per_page=10&page=3").get_json()
    assert first["total"] == final["total"] == 25 and len(final["items"]) == 5 and not final["has_next"]
    assert len(last) == len(full) - 1 and not any("count(" in s.lower() for s in last)
    beyond = viewer.get("/api/assets?per_page=10&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 25
    filtered = viewer.get("/api/assets?q=B-0001").get_json()
    assert filtered["total"] == len(filtered["items"]) == 10
    with app.app_context():
        db.session.execute(text("DELETE FROM assets"))
        db.session.commit()
    assert viewer.get("/api/assets").get_json()["total"] == 0


def test_the_total_is_counted_only_up_to_the_sites_limit(app, viewer, sql_statements, monkeypatch):
    # The COUNT was most of a first page's database time at 100,000 rows (docs/adr/0008): it now walks at most
    # LIST_COUNT_LIMIT + 1 index entries, and says so when the total is only a lower bound.
    add_assets(app, 25)
    monkeypatch.setitem(app.config, "LIST_COUNT_LIMIT", 12)
    with sql_statements(app) as seen:
        first = viewer.get("/api/assets?per_page=10").get_json()
    assert (first["total"], first["total_exact"], first["has_next"]) == (12, False, True)
    count_sql = next(s for s in seen if "count(" in s.lower())
    assert "LIMIT" in count_sql.upper(), count_sql
    # A page past the bound knows at least as many rows as it has seen.
    second = viewer.get("/api/assets?per_page=10&page=2").get_json()
    assert (second["total"], second["total_exact"]) == (21, False)
    # The last page is exact again, and so is any list within the bound.
    final = viewer.get("/api/assets?per_page=10&page=3").get_json()
    assert (final["total"], final["total_exact"]) == (25, True)
    monkeypatch.setitem(app.config, "LIST_COUNT_LIMIT", 25)
    assert [viewer.get("/api/assets?per_page=10").get_json()[k] for k in ("total", "total_exact")] == [25, True]
    filtered = viewer.get("/api/assets?q=B-0001&per_page=5").get_json()
    assert (filtered["total"], filtered["total_exact"]) == (10, True)


@pytest.mark.mariadb
def test_the_bounded_count_walks_the_pages_own_index_on_mariadb(app_factory, empty_mariadb_url, sql_statements):
    # bench/api.py: without the page's ORDER BY, MariaDB counted a filtered list by an index_merge intersecting
    # the filter's index with deleted_at's, which every live row shares.
    app = seeded_mariadb(app_factory, empty_mariadb_url)
    with app.app_context():
        db.session.execute(insert(Location), [{"code": f"L{n:03d}", "name": f"Hall {n}", "version": 1,
                                               "created_at": datetime(2026, 1, 1), "updated_at": datetime(2026, 1, 1)}
                                              for n in range(200)])
        locations = db.session.scalars(select(Location.id)).all()
        types = db.session.scalars(select(AssetType.id)).all()
        now = datetime(2026, 1, 1)
        db.session.execute(insert(Asset), [
            {"asset_tag": f"B-{n:05d}", "name": f"Bench {n}", "asset_type_id": types[n % len(types)],
             "status": ("in_service", "spare")[n % 2], "location_id": locations[n % len(locations)], "version": 1,
             "created_at": now, "updated_at": now, "deleted_at": now if n % 50 == 0 else None}
            for n in range(20000)])
        db.session.commit()
    token = analysed_viewer_token(app)
    with sql_statements(app) as seen:
        response = app.test_client().get(f"/api/assets?location_id={locations[7]}&status=spare&per_page=10",
                                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["total_exact"]
    keys_sql = next(s for s in seen if "FROM assets" in s and "LIMIT" in s and "count(" not in s.lower())
    count_sql = next(s for s in seen if "count(" in s.lower())
    with app.app_context():
        connection = db.session.connection()
        keys_plan = connection.exec_driver_sql("EXPLAIN " + keys_sql).mappings().all()
        count_plan = connection.exec_driver_sql("EXPLAIN " + count_sql).mappings().all()
        db.engine.dispose()
    count_assets = [row for row in count_plan if row["table"] == "assets"]
    assert [row["type"] for row in count_assets] != ["index_merge"], count_plan
    assert [row["key"] for row in count_assets] == [keys_plan[0]["key"]], (keys_plan, count_plan)
