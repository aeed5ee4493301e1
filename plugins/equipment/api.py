"""Equipment routes, mounted under /api/plugins/equipment. Author-owned: `copier update` never touches this file.

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

from .models import Machine
from .schemas import (
    MachineCreateSchema,
    MachineListArgsSchema,
    MachinePageSchema,
    MachineSchema,
    MachineUpdateSchema,
)

# The blueprint is named like the plugin; the loader mounts it under /api/plugins/equipment.
blp = Blueprint("equipment", __name__,
                description="Machine tools: make, model, controller, serial number and install date")
ENTITY = Machine.__tablename__
FILTERS = ("make", "model", "controller", "serial")


def _load(asset_id):
    """The machine row of a live asset, or 404."""
    machine = get_or_404(Machine, asset_id)
    if machine.asset.deleted_at is not None:
        abort_json(404, f"Asset {asset_id} is deleted; restore it first.")
    return machine


@blp.route("/machines")
class Machines(MethodView):
    @require_role("viewer")
    @blp.arguments(MachineListArgsSchema, location="query", unknown="raise")
    @blp.response(200, MachinePageSchema)
    def get(self, args):
        """List machine tools in asset order; filter by make, model, controller, serial, installed_since or q."""
        stmt = db.select(Machine).join(Machine.asset).order_by(Machine.asset_id)
        if not args["include_deleted"]:
            stmt = stmt.where(Asset.deleted_at.is_(None))
        for field in FILTERS:
            if field in args:
                stmt = stmt.where(getattr(Machine, field) == args[field])
        if "installed_since" in args:
            stmt = stmt.where(Machine.install_date >= args["installed_since"])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], Machine.make, Machine.model, Machine.controller,
                                            Machine.serial, Asset.name, Asset.asset_tag))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(MachineCreateSchema)
    @blp.response(201, MachineSchema)
    @blp.errors(404, 409)  # 404: no live asset with that asset_id
    def post(self, data):
        """Record an asset's machine-tool details (make and model required; one row per asset)."""
        asset = get_or_404(Asset, data["asset_id"])
        if db.session.get(Machine, asset.id) is not None:
            abort_json(409, f"Asset {asset.id} already has machine details: "
                            f"PATCH /api/plugins/equipment/machines/{asset.id} instead.")
        machine = Machine(**data)
        with commit_or_409(f"Another write just recorded the machine details of asset {asset.id}: "
                           f"GET /api/plugins/equipment/machines/{asset.id} and PATCH it instead."):
            db.session.add(machine)
            db.session.flush()
            record_audit("create", ENTITY, machine.asset_id, after=snapshot(machine))
        obj, status, headers = with_etag(machine, 201)
        headers["Location"] = url_for("equipment.MachineItem", asset_id=machine.asset_id)
        return obj, status, headers


@blp.route("/machines/<int:asset_id>")
class MachineItem(MethodView):
    @require_role("viewer")
    @blp.response(200, MachineSchema)
    def get(self, asset_id):
        """One asset's machine-tool details, with the ETag."""
        return with_etag(_load(asset_id))

    @require_role("editor")
    @blp.arguments(MachineUpdateSchema)
    @blp.response(200, MachineSchema)
    @blp.errors(412, 428)
    def patch(self, data, asset_id):
        """Change some fields; send the ETag from your last GET in If-Match."""
        machine = _load(asset_id)
        check_if_match(machine)
        before = snapshot(machine)
        for key, value in data.items():
            setattr(machine, key, value)
        if db.session.is_modified(machine):
            db.session.flush()
            record_audit("update", ENTITY, machine.asset_id, before=before, after=snapshot(machine))
        db.session.commit()
        return with_etag(machine)
