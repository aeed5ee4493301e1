"""Input that once reached a 500 or that the document did not state, on SQLite and MariaDB: a hostname taken by a
concurrent write between the pre-check and the commit (409 through app.api.common.commit_or_409), an asset_id past
the INT range (422), and the hostname, IP and MAC formats as the OpenAPI document states them.
Author-owned: `copier update` never touches this file.
"""
from sqlalchemy import event

from app.api.common import INT_MAX
from app.extensions import db
from app.models import Asset, AssetType, AuditLog, utcnow

URL = "/api/plugins/computers/hosts"


def hosts():
    """The plugin's table (read through the metadata: the test does not import the plugin's modules itself)."""
    return db.metadata.tables["computers_hosts"]


def new_asset(editor_client, tag):
    type_id = db.session.scalar(db.select(AssetType.id).filter_by(code="pc", deleted_at=None))
    response = editor_client.post("/api/assets", json={"asset_tag": tag, "name": tag, "asset_type_id": type_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_hostname_taken_by_a_concurrent_write_is_409_and_keeps_nothing(app, editor_client):
    mine, rivals = new_asset(editor_client, "PC-1"), new_asset(editor_client, "PC-2")
    audit_before = db.session.scalar(db.select(db.func.count()).select_from(AuditLog))
    engine, fired = db.engine, []

    def rival_write(_conn, _cursor, statement, *_args):
        # Just before this request's INSERT, another request that passed the same pre-check commits the hostname.
        if not fired and statement.startswith("INSERT INTO computers_hosts"):
            fired.append(statement)
            with engine.begin() as other:
                other.execute(hosts().insert().values(asset_id=rivals, hostname="cell4-pc01", version=1,
                                                      created_at=utcnow(), updated_at=utcnow()))

    event.listen(engine, "before_cursor_execute", rival_write)
    try:
        response = editor_client.post(URL, json={"asset_id": mine, "hostname": "cell4-pc01"})
    finally:
        event.remove(engine, "before_cursor_execute", rival_write)
    assert fired, "the hook never ran: the test did not race"
    body = response.get_json()
    assert response.status_code == 409, body
    assert body["error"]["code"] == "conflict" and body["error"]["details"] == {"hostname": ["already in use"]}
    db.session.remove()
    assert db.session.scalars(db.select(hosts().c.asset_id)).all() == [rivals]
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditLog)) == audit_before


def test_an_asset_id_past_the_int_range_is_422_or_404(editor_client):
    before = db.session.scalar(db.select(db.func.count()).select_from(Asset))
    for asset_id in (INT_MAX + 1, 99999999999999999999, -(2**70)):
        response = editor_client.post(URL, json={"asset_id": asset_id, "hostname": "big"})
        assert response.status_code == 422 and "asset_id" in response.get_json()["error"]["details"]["json"]
    for path in (f"{URL}/{INT_MAX + 1}", f"{URL}/99999999999999999999"):
        assert editor_client.get(path).status_code == 404
        assert editor_client.patch(path, json={"os": "x"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Asset)) == before


def test_the_document_states_the_address_formats(app, viewer_client, editor_client):
    """The patterns the document gives are the ones enforced: a value each side of each rule, checked both ways."""
    spec = viewer_client.get("/api/openapi.json").get_json()
    fields = spec["components"]["schemas"]["ComputerCreate"]["properties"]
    assert fields["hostname"]["maxLength"] == 253 and fields["hostname"]["pattern"].startswith("^")
    assert fields["mac_address"]["pattern"].startswith("^")
    assert fields["ip_address"]["anyOf"] == [{"format": "ipv4"}, {"format": "ipv6"}]
    asset_id = new_asset(editor_client, "PC-3")
    for field, good, bad in (("hostname", "PC01.plant.example.", "pc01.plant.example.\n"),
                             ("hostname", "a" * 63, "a" * 64),
                             ("mac_address", "00-1A-2B-3C-4D-5E", "00:1a:2b:3c:4d:5e:66"),
                             ("mac_address", "001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e\n"),
                             ("ip_address", "fd00::15", " 10.0.0.1")):
        body = {"hostname": "pc-x", field: bad}
        assert editor_client.post(URL, json={"asset_id": asset_id, **body}).status_code == 422, (field, bad)
        created = editor_client.post(URL, json={"asset_id": asset_id, "hostname": "pc-x", field: good})
        assert created.status_code == 201, (field, good, created.get_json())
        db.session.execute(hosts().delete())
        db.session.commit()
