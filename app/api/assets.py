"""/api/assets: the shop floor's machines, PCs and printers."""

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api.common import (ListArgsSchema, UTCDateTime, abort_json, get_or_404, page_schema, paginate,
                            patch_schema, require_role, search_filter, with_etag)
from app.api.crud import create_row, delete_row, restore_row, update_row
from app.extensions import db
from app.models import Asset, AssetStatus, AssetType, Location

blp = Blueprint("assets", __name__, url_prefix="/api/assets", description="Assets")

TAG = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                      error="Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")


class RefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class AssetSchema(Schema):
    id = fields.Integer(dump_only=True)
    asset_tag = fields.String(required=True, validate=TAG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    serial = fields.String(allow_none=True, validate=validate.Length(max=128))
    asset_type_id = fields.Integer(required=True)
    asset_type = fields.Nested(RefSchema, dump_only=True)
    status = fields.String(load_default="in_service", validate=validate.Length(min=1, max=32),
                           metadata={"description": "An asset status code (flask seed creates the defaults)."})
    location_id = fields.Integer(allow_none=True)
    location = fields.Nested(RefSchema, dump_only=True, allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    deleted_at = UTCDateTime(dump_only=True)


class AssetListArgsSchema(ListArgsSchema):
    asset_type_id = fields.Integer()
    status = fields.String()
    location_id = fields.Integer()
    serial = fields.String()
    asset_tag = fields.String()
    updated_since = UTCDateTime(metadata={"description": "Only assets updated at or after this UTC time."})


AssetPageSchema = page_schema(AssetSchema)
FILTERS = ("asset_type_id", "status", "location_id", "serial", "asset_tag")


def _check_references(data):
    """422 naming each reference that does not point at a live row."""
    errors = {}
    if "asset_type_id" in data:
        row = db.session.get(AssetType, data["asset_type_id"])
        if row is None or row.deleted_at is not None:
            errors["asset_type_id"] = [f"No asset type with id {data['asset_type_id']}: see GET /api/asset-types."]
    if data.get("location_id") is not None:
        row = db.session.get(Location, data["location_id"])
        if row is None or row.deleted_at is not None:
            errors["location_id"] = [f"No location with id {data['location_id']}: see GET /api/locations."]
    if "status" in data and db.session.scalar(
            select(AssetStatus.id).where(AssetStatus.code == data["status"])) is None:
        known = ", ".join(db.session.scalars(select(AssetStatus.code).order_by(AssetStatus.code)))
        errors["status"] = [f"Unknown status {data['status']!r}; known: {known or 'none (run flask seed)'}."]
    if errors:
        abort_json(422, "Invalid references: see details.", details={"json": errors})


@blp.route("")
class Assets(MethodView):
    @require_role("viewer")
    @blp.arguments(AssetListArgsSchema, location="query", unknown="raise")
    @blp.response(200, AssetPageSchema)
    def get(self, args):
        """List assets in id order; filter on whitelisted fields, search asset_tag/name/serial with q."""
        stmt = select(Asset).order_by(Asset.id)
        if not args["include_deleted"]:
            stmt = stmt.where(Asset.deleted_at.is_(None))
        for name in FILTERS:
            if name in args:
                stmt = stmt.where(getattr(Asset, name) == args[name])
        if "updated_since" in args:
            stmt = stmt.where(Asset.updated_at >= args["updated_since"])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], Asset.asset_tag, Asset.name, Asset.serial))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(AssetSchema)
    @blp.response(201, AssetSchema)
    def post(self, data):
        """Create an asset (asset_tag, name and asset_type_id are required)."""
        _check_references(data)
        asset = create_row(Asset, "asset_tag", data)
        obj, status, headers = with_etag(asset, 201)
        headers["Location"] = url_for("assets.AssetResource", asset_id=asset.id)
        return obj, status, headers


@blp.route("/<int:asset_id>")
class AssetResource(MethodView):
    @require_role("viewer")
    @blp.response(200, AssetSchema)
    def get(self, asset_id):
        """One asset, with its ETag."""
        return with_etag(get_or_404(Asset, asset_id))

    @require_role("editor")
    @blp.arguments(patch_schema(AssetSchema))
    @blp.response(200, AssetSchema)
    def patch(self, data, asset_id):
        """Change fields of an asset. Send If-Match with the ETag you read (412 when stale)."""
        asset = get_or_404(Asset, asset_id)
        _check_references(data)
        return with_etag(update_row(asset, "asset_tag", data))

    @require_role("editor")
    @blp.response(204)
    def delete(self, asset_id):
        """Soft-delete an asset (restore with POST .../restore). Honours If-Match."""
        delete_row(get_or_404(Asset, asset_id))


@blp.route("/<int:asset_id>/restore")
class AssetRestore(MethodView):
    @require_role("editor")
    @blp.response(200, AssetSchema)
    def post(self, asset_id):
        """Undo a soft delete (409 when the tag was reused meanwhile)."""
        return with_etag(restore_row(get_or_404(Asset, asset_id, include_deleted=True), "asset_tag"))


@blp.route("/by-tag/<string:asset_tag>")
class AssetByTag(MethodView):
    @require_role("viewer")
    @blp.response(200, AssetSchema)
    def get(self, asset_tag):
        """The live asset with this tag."""
        asset = db.session.scalar(select(Asset).where(Asset.asset_tag == asset_tag, Asset.deleted_at.is_(None)))
        if asset is None:
            abort_json(404, f"No live asset with tag {asset_tag!r}.")
        return with_etag(asset)
