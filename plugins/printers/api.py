"""Printers routes, mounted under /api/plugins/printers. Author-owned: `copier update` never touches this file.

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

from .models import Printer
from .schemas import PrinterCreateSchema, PrinterListArgsSchema, PrinterPageSchema, PrinterSchema, PrinterUpdateSchema

# The blueprint is named like the plugin; the loader mounts it under /api/plugins/printers.
blp = Blueprint("printers", __name__,
                description="Printers: model, IP address and print queue name")
ENTITY = Printer.__tablename__
FILTERS = ("model", "ip_address", "queue_name")


def _load(asset_id):
    """The printer row of a live asset, or 404."""
    printer = get_or_404(Printer, asset_id)
    if printer.asset.deleted_at is not None:
        abort_json(404, f"Asset {asset_id} is deleted; restore it first.")
    return printer


def _queue_taken(queue_name, asset_id):
    if queue_name is None:
        return
    holder = db.session.scalar(db.select(Printer.asset_id).where(Printer.queue_name == queue_name,
                                                                 Printer.asset_id != asset_id))
    if holder is not None:
        abort_json(409, f"Queue {queue_name!r} already feeds the printer of asset {holder}: one queue per "
                        "printer; pick another queue name.", details={"queue_name": ["already in use"]})


def _queue_write(queue_name):
    """The write's commit: a concurrent write of the same queue name (past `_queue_taken`), or of this asset's
    printer row, is a 409."""
    return commit_or_409(f"Another write just took queue {queue_name!r} or recorded this asset's printer: "
                         "GET it and retry.", details={"queue_name": ["already in use"]} if queue_name else None)


@blp.route("/devices")
class Printers(MethodView):
    @require_role("viewer")
    @blp.arguments(PrinterListArgsSchema, location="query", unknown="raise")
    @blp.response(200, PrinterPageSchema)
    def get(self, args):
        """List printers in asset order; filter by model, ip_address, queue_name or q."""
        stmt = db.select(Printer).join(Printer.asset).order_by(Printer.asset_id)
        if not args["include_deleted"]:
            stmt = stmt.where(Asset.deleted_at.is_(None))
        for field in FILTERS:
            if field in args:
                stmt = stmt.where(getattr(Printer, field) == args[field])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], Printer.model, Printer.ip_address, Printer.queue_name,
                                            Asset.name, Asset.asset_tag))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(PrinterCreateSchema)
    @blp.response(201, PrinterSchema)
    @blp.errors(404, 409)  # 404: no live asset with that asset_id
    def post(self, data):
        """Record an asset's printer details (model required, queue name unique; one row per asset)."""
        asset = get_or_404(Asset, data["asset_id"])
        if db.session.get(Printer, asset.id) is not None:
            abort_json(409, f"Asset {asset.id} already has printer details: "
                            f"PATCH /api/plugins/printers/devices/{asset.id} instead.")
        _queue_taken(data.get("queue_name"), asset.id)
        printer = Printer(**data)
        with _queue_write(printer.queue_name):
            db.session.add(printer)
            db.session.flush()
            record_audit("create", ENTITY, printer.asset_id, after=snapshot(printer))
        obj, status, headers = with_etag(printer, 201)
        headers["Location"] = url_for("printers.PrinterItem", asset_id=printer.asset_id)
        return obj, status, headers


@blp.route("/devices/<int:asset_id>")
class PrinterItem(MethodView):
    @require_role("viewer")
    @blp.response(200, PrinterSchema)
    def get(self, asset_id):
        """One asset's printer details, with the ETag."""
        return with_etag(_load(asset_id))

    @require_role("editor")
    @blp.arguments(PrinterUpdateSchema)
    @blp.response(200, PrinterSchema)
    @blp.errors(409, 412, 428)
    def patch(self, data, asset_id):
        """Change some fields; send the ETag from your last GET in If-Match."""
        printer = _load(asset_id)
        check_if_match(printer)
        if "queue_name" in data:
            _queue_taken(data["queue_name"], asset_id)
        before = snapshot(printer)
        with _queue_write(data.get("queue_name", printer.queue_name)):
            for key, value in data.items():
                setattr(printer, key, value)
            if db.session.is_modified(printer):
                db.session.flush()
                record_audit("update", ENTITY, printer.asset_id, before=before, after=snapshot(printer))
        return with_etag(printer)
