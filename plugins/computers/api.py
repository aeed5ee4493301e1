"""Computers routes, mounted under /api/plugins/computers. Author-owned: `copier update` never touches this file.

They follow the core's conventions through app.api.common: the list envelope and pagination, whitelisted
filters plus `q`, ETag on reads and If-Match on writes, viewer/editor roles, the JSON error shape and the
audit trail (written in the same transaction as the change).
"""
from flask import url_for
from flask.views import MethodView

from app.api.common import (
    Blueprint,
    abort_json,
    check_if_match,
    commit_or_409,
    get_or_404,
    paginate,
    record_audit,
    require_role,
    search_filter,
    snapshot,
    with_etag,
)
from app.extensions import db
from app.models import Asset

from .models import Computer
from .schemas import (
    ComputerCreateSchema,
    ComputerListArgsSchema,
    ComputerPageSchema,
    ComputerSchema,
    ComputerUpdateSchema,
)

# The blueprint is named like the plugin; the loader mounts it under /api/plugins/computers.
blp = Blueprint("computers", __name__,
                description="Computers: unique hostname, operating system, IP and MAC address")
ENTITY = Computer.__tablename__
FILTERS = ("hostname", "os", "ip_address", "mac_address")


def _load(asset_id):
    """The computer row of a live asset, or 404."""
    computer = get_or_404(Computer, asset_id)
    if computer.asset.deleted_at is not None:
        abort_json(404, f"Asset {asset_id} is deleted; restore it first.")
    return computer


def _hostname_taken(hostname, asset_id):
    holder = db.session.scalar(db.select(Computer.asset_id).where(Computer.hostname == hostname,
                                                                  Computer.asset_id != asset_id))
    if holder is not None:
        abort_json(409, f"Hostname {hostname!r} is already used by asset {holder}: hostnames are unique; "
                        "rename one of them.", details={"hostname": ["already in use"]})


def _hostname_write(hostname):
    """The write's commit: a concurrent write of the same hostname (past `_hostname_taken`), or of this asset's
    computer row, is a 409."""
    return commit_or_409(f"Another write just took hostname {hostname!r} or recorded this asset's computer: "
                         "hostnames are unique; GET it and retry.", details={"hostname": ["already in use"]})


@blp.route("/hosts")
class Computers(MethodView):
    @require_role("viewer")
    @blp.arguments(ComputerListArgsSchema, location="query", unknown="raise")
    @blp.response(200, ComputerPageSchema)
    def get(self, args):
        """List computers in asset order; filter by hostname, os, ip_address, mac_address or q."""
        stmt = db.select(Computer).join(Computer.asset).order_by(Computer.asset_id)
        if not args["include_deleted"]:
            stmt = stmt.where(Asset.deleted_at.is_(None))
        for field in FILTERS:
            if field in args:
                stmt = stmt.where(getattr(Computer, field) == args[field])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], Computer.hostname, Computer.os, Computer.ip_address,
                                            Computer.mac_address, Asset.name, Asset.asset_tag))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(ComputerCreateSchema)
    @blp.response(201, ComputerSchema)
    @blp.errors(404, 409)  # 404: no live asset with that asset_id
    def post(self, data):
        """Record an asset's computer details (hostname required and unique; one row per asset)."""
        asset = get_or_404(Asset, data["asset_id"])
        if db.session.get(Computer, asset.id) is not None:
            abort_json(409, f"Asset {asset.id} already has computer details: "
                            f"PATCH /api/plugins/computers/hosts/{asset.id} instead.")
        _hostname_taken(data["hostname"], asset.id)
        computer = Computer(**data)
        with _hostname_write(computer.hostname):
            db.session.add(computer)
            db.session.flush()
            record_audit("create", ENTITY, computer.asset_id, after=snapshot(computer))
        obj, status, headers = with_etag(computer, 201)
        headers["Location"] = url_for("computers.ComputerItem", asset_id=computer.asset_id)
        return obj, status, headers


@blp.route("/hosts/<int:asset_id>")
class ComputerItem(MethodView):
    @require_role("viewer")
    @blp.response(200, ComputerSchema)
    def get(self, asset_id):
        """One asset's computer details, with the ETag."""
        return with_etag(_load(asset_id))

    @require_role("editor")
    @blp.arguments(ComputerUpdateSchema)
    @blp.response(200, ComputerSchema)
    @blp.errors(409, 412, 428)
    def patch(self, data, asset_id):
        """Change some fields; send the ETag from your last GET in If-Match."""
        computer = _load(asset_id)
        check_if_match(computer)
        if "hostname" in data:
            _hostname_taken(data["hostname"], asset_id)
        before = snapshot(computer)
        with _hostname_write(data.get("hostname", computer.hostname)):
            for key, value in data.items():
                setattr(computer, key, value)
            if db.session.is_modified(computer):
                db.session.flush()
                record_audit("update", ENTITY, computer.asset_id, before=before, after=snapshot(computer))
        return with_etag(computer)
