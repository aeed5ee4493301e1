"""/api/asset-types: kinds of asset (printer, pc, machine, ...), keyed by a unique code."""

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from app.api.common import (Blueprint, ListArgsSchema, Pattern, UTCDateTime, get_or_404, page_schema, paginate,
                            patch_schema, require_role, search_filter, with_etag)
from app.api.crud import create_row, delete_row, restore_row, update_row
from app.extensions import db
from app.models import Asset, AssetType

blp = Blueprint("asset_types", __name__, url_prefix="/api/asset-types", description="Asset types")

CODE = Pattern(r"^[a-z0-9][a-z0-9_-]{0,49}$",
               error="Use 1-50 lower-case letters, digits, '_' or '-', e.g. 'printer'.")


class AssetTypeSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    deleted_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null while live."})


class AssetTypeListArgsSchema(ListArgsSchema):
    code = fields.String()


AssetTypePageSchema = page_schema(AssetTypeSchema)


@blp.route("")
class AssetTypes(MethodView):
    @require_role("viewer")
    @blp.arguments(AssetTypeListArgsSchema, location="query", unknown="raise")
    @blp.response(200, AssetTypePageSchema)
    def get(self, args):
        """List asset types in id order; filter by code, search code/name with q."""
        stmt = select(AssetType).order_by(AssetType.id)
        if not args["include_deleted"]:
            stmt = stmt.where(AssetType.deleted_at.is_(None))
        if "code" in args:
            stmt = stmt.where(AssetType.code == args["code"])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], AssetType.code, AssetType.name))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(AssetTypeSchema)
    @blp.response(201, AssetTypeSchema)
    @blp.errors(409)
    def post(self, data):
        """Create an asset type (409 when the code is taken)."""
        return with_etag(create_row(AssetType, "code", data), 201)


@blp.route("/<int:type_id>")
class AssetTypeResource(MethodView):
    @require_role("viewer")
    @blp.response(200, AssetTypeSchema)
    def get(self, type_id):
        """One asset type, with its ETag."""
        return with_etag(get_or_404(AssetType, type_id))

    @require_role("editor")
    @blp.arguments(patch_schema(AssetTypeSchema))
    @blp.response(200, AssetTypeSchema)
    @blp.errors(409, 412, 428)
    def patch(self, data, type_id):
        """Change an asset type. Send If-Match with the ETag you read (412 when stale)."""
        return with_etag(update_row(get_or_404(AssetType, type_id), "code", data))

    @require_role("editor")
    @blp.response(204)
    @blp.errors(409, 412, 428)
    def delete(self, type_id):
        """Soft-delete an asset type; refused (409) while live assets use it."""
        row = get_or_404(AssetType, type_id)
        used = db.session.scalar(select(func.count()).where(Asset.asset_type_id == row.id,
                                                            Asset.deleted_at.is_(None)))
        delete_row(row, in_use=used and f"{used} live asset(s) use asset type {row.code!r}: "
                                        "change or delete them first.")


@blp.route("/<int:type_id>/restore")
class AssetTypeRestore(MethodView):
    @require_role("editor")
    @blp.response(200, AssetTypeSchema)
    @blp.errors(409)
    def post(self, type_id):
        """Undo a soft delete (409 when the code was reused meanwhile)."""
        return with_etag(restore_row(get_or_404(AssetType, type_id, include_deleted=True), "code"))
