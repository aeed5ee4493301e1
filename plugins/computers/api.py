"""Computers routes, mounted under /api/plugins/computers. Author-owned: `copier update` never
touches this file.

They follow the core's conventions through app.api.common: the list envelope and pagination, whitelisted
filters plus `q`, ETag on reads and If-Match on writes, viewer/editor roles, the JSON error shape and the
audit trail (written in the same transaction as the change).
"""
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.common import (
    abort_json,
    check_if_match,
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

from .models import ComputersDetail
from .schemas import (
    ComputersDetailCreateSchema,
    ComputersDetailPageSchema,
    ComputersDetailSchema,
    ComputersDetailUpdateSchema,
    ComputersListArgsSchema,
)

# The blueprint is named like the plugin; the loader mounts it under /api/plugins/computers.
blp = Blueprint("computers", __name__, description="Computers: unique hostname, operating system, IP and MAC address")
ENTITY = ComputersDetail.__tablename__


def _load(asset_id):
    """The detail row of a live asset, or 404."""
    detail = get_or_404(ComputersDetail, asset_id)
    if detail.asset.deleted_at is not None:
        abort_json(404, f"Asset {asset_id} is deleted; restore it first.")
    return detail


@blp.route("/details")
class ComputersDetails(MethodView):
    @blp.arguments(ComputersListArgsSchema, location="query", unknown="raise")
    @blp.response(200, ComputersDetailPageSchema)
    @require_role("viewer")
    def get(self, args):
        """List computers details, oldest asset first; filter by label, asset_id or q."""
        stmt = db.select(ComputersDetail).join(ComputersDetail.asset).order_by(ComputersDetail.asset_id)
        if not args["include_deleted"]:
            stmt = stmt.where(Asset.deleted_at.is_(None))
        for field in ("label", "asset_id"):
            if field in args:
                stmt = stmt.where(getattr(ComputersDetail, field) == args[field])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], ComputersDetail.label, Asset.name, Asset.asset_tag))
        return paginate(stmt, args)

    @blp.arguments(ComputersDetailCreateSchema)
    @blp.response(201, ComputersDetailSchema)
    @require_role("editor")
    def post(self, data):
        """Add computers details to an existing asset (one row per asset)."""
        asset = get_or_404(Asset, data["asset_id"])
        if db.session.get(ComputersDetail, asset.id) is not None:
            abort_json(409, f"Asset {asset.id} already has computers details: "
                            f"PATCH /api/plugins/computers/details/{asset.id} instead.")
        detail = ComputersDetail(**data)
        db.session.add(detail)
        db.session.flush()
        record_audit("create", ENTITY, detail.asset_id, after=snapshot(detail))
        db.session.commit()
        obj, status, headers = with_etag(detail, 201)
        headers["Location"] = url_for("computers.ComputersDetailItem", asset_id=detail.asset_id)
        return obj, status, headers


@blp.route("/details/<int:asset_id>")
class ComputersDetailItem(MethodView):
    @blp.response(200, ComputersDetailSchema)
    @require_role("viewer")
    def get(self, asset_id):
        """One asset's computers details, with its ETag."""
        return with_etag(_load(asset_id))

    @blp.arguments(ComputersDetailUpdateSchema)
    @blp.response(200, ComputersDetailSchema)
    @require_role("editor")
    def patch(self, data, asset_id):
        """Change some fields; send the ETag from your last GET in If-Match."""
        detail = _load(asset_id)
        check_if_match(detail)
        before = snapshot(detail)
        for key, value in data.items():
            setattr(detail, key, value)
        if db.session.is_modified(detail):
            db.session.flush()
            record_audit("update", ENTITY, detail.asset_id, before=before, after=snapshot(detail))
        db.session.commit()
        return with_etag(detail)
