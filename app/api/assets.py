"""/api/assets: the shop floor's machines, PCs and printers."""

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import bindparam, select

from app.api.common import (Blueprint, Integer, ListArgsSchema, Pattern, UTCDateTime, abort_json, etag_for, get_or_404,
                            page_schema, paginate, patch_schema, require_role, search_filter, with_etag)
from app.api.crud import create_row, delete_row, restore_row, update_row
from app.extensions import db
from app.models import Asset, AssetStatus, AssetType, Location

blp = Blueprint("assets", __name__, url_prefix="/api/assets", description="Assets")

TAG = Pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
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
    asset_type_id = Integer(required=True)
    asset_type = fields.Nested(RefSchema, dump_only=True)
    status = fields.String(load_default="in_service", validate=validate.Length(min=1, max=32),
                           metadata={"description": "An asset status code (flask seed creates the defaults)."})
    location_id = Integer(allow_none=True)
    location = fields.Nested(RefSchema, dump_only=True, allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=10000))
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    deleted_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null while live."})


class AssetListArgsSchema(ListArgsSchema):
    asset_type_id = Integer()
    status = fields.String()
    location_id = Integer()
    serial = fields.String()
    asset_tag = fields.String()
    updated_since = UTCDateTime(metadata={"description": "Only assets updated at or after this UTC time."})


AssetPageSchema = page_schema(AssetSchema)
FILTERS = ("asset_type_id", "status", "location_id", "serial", "asset_tag")


# Reads of one asset (by id, by tag), the API's most frequent request: a Core SELECT of the columns AssetSchema
# dumps, with the type's and location's id, code and name joined, built once. Loading the same row as three ORM
# objects through session.get() cost about 0.3 ms more CPU per request, a fifth of the request
# (docs/PERFORMANCE.md, "API"). Writes load the ORM object, which they change.
_ASSET, _TYPE, _LOCATION = Asset.__table__, AssetType.__table__, Location.__table__
_READ = (select(_ASSET.c.id, _ASSET.c.asset_tag, _ASSET.c.name, _ASSET.c.serial, _ASSET.c.asset_type_id,
                _ASSET.c.status, _ASSET.c.location_id, _ASSET.c.notes, _ASSET.c.version, _ASSET.c.created_at,
                _ASSET.c.updated_at, _ASSET.c.deleted_at, _TYPE.c.code.label("type_code"),
                _TYPE.c.name.label("type_name"), _LOCATION.c.code.label("location_code"),
                _LOCATION.c.name.label("location_name"))
         .select_from(_ASSET.outerjoin(_TYPE, _TYPE.c.id == _ASSET.c.asset_type_id)
                      .outerjoin(_LOCATION, _LOCATION.c.id == _ASSET.c.location_id)))
_READ_BY_ID = _READ.where(_ASSET.c.id == bindparam("asset_id"))
_READ_LIVE_BY_TAG = _READ.where(_ASSET.c.asset_tag == bindparam("asset_tag"), _ASSET.c.deleted_at.is_(None))


def _read_asset(stmt, **params):
    """The asset *stmt* finds, as AssetSchema's input (a dict), or None."""
    row = db.session.execute(stmt, params).first()
    if row is None:
        return None
    asset = row._asdict()
    asset["asset_type"] = {"id": row.asset_type_id, "code": asset.pop("type_code"), "name": asset.pop("type_name")}
    code, name = asset.pop("location_code"), asset.pop("location_name")
    asset["location"] = None if row.location_id is None else {"id": row.location_id, "code": code, "name": name}
    return asset


def _asset_with_etag(asset):
    """`with_etag` for an asset read by `_read_asset`."""
    return asset, 200, {"ETag": f'"{etag_for(Asset.__tablename__, asset["id"], asset["version"])}"'}


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
    @blp.errors(409)
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
        asset = _read_asset(_READ_BY_ID, asset_id=asset_id)
        if asset is None or asset["deleted_at"] is not None:  # as get_or_404
            abort_json(404, f"No {Asset.__tablename__} row with id {asset_id}.")
        return _asset_with_etag(asset)

    @require_role("editor")
    @blp.arguments(patch_schema(AssetSchema))
    @blp.response(200, AssetSchema)
    @blp.errors(409, 412, 428)
    def patch(self, data, asset_id):
        """Change fields of an asset. Send If-Match with the ETag you read (412 when stale)."""
        asset = get_or_404(Asset, asset_id)
        _check_references(data)
        return with_etag(update_row(asset, "asset_tag", data))

    @require_role("editor")
    @blp.response(204)
    @blp.errors(412, 428)
    def delete(self, asset_id):
        """Soft-delete an asset (restore with POST .../restore). Honours If-Match."""
        delete_row(get_or_404(Asset, asset_id))


@blp.route("/<int:asset_id>/restore")
class AssetRestore(MethodView):
    @require_role("editor")
    @blp.response(200, AssetSchema)
    @blp.errors(409)
    def post(self, asset_id):
        """Undo a soft delete (409 when the tag was reused meanwhile)."""
        return with_etag(restore_row(get_or_404(Asset, asset_id, include_deleted=True), "asset_tag"))


@blp.route("/by-tag/<string:asset_tag>")
class AssetByTag(MethodView):
    @require_role("viewer")
    @blp.response(200, AssetSchema)
    def get(self, asset_tag):
        """The live asset with this tag."""
        asset = _read_asset(_READ_LIVE_BY_TAG, asset_tag=asset_tag)
        if asset is None:
            abort_json(404, f"No live asset with tag {asset_tag!r}.")
        return _asset_with_etag(asset)
