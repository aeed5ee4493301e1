"""/api/locations: where assets stand (hall, line, room), keyed by a unique code."""

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from app.api.common import (Blueprint, ListArgsSchema, Pattern, UTCDateTime, get_or_404, page_schema, paginate,
                            patch_schema, require_role, search_filter, with_etag)
from app.api.crud import create_row, delete_row, restore_row, update_row
from app.extensions import db
from app.models import Asset, Location

blp = Blueprint("locations", __name__, url_prefix="/api/locations", description="Locations")

CODE = Pattern(r"^[a-z0-9][a-z0-9_-]{0,49}$",
               error="Use 1-50 lower-case letters, digits, '_' or '-', e.g. 'hall-2'.")


class LocationSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)
    deleted_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null while live."})


class LocationListArgsSchema(ListArgsSchema):
    code = fields.String()


LocationPageSchema = page_schema(LocationSchema)


@blp.route("")
class Locations(MethodView):
    @require_role("viewer")
    @blp.arguments(LocationListArgsSchema, location="query", unknown="raise")
    @blp.response(200, LocationPageSchema)
    def get(self, args):
        """List locations in id order; filter by code, search code/name with q."""
        stmt = select(Location).order_by(Location.id)
        if not args["include_deleted"]:
            stmt = stmt.where(Location.deleted_at.is_(None))
        if "code" in args:
            stmt = stmt.where(Location.code == args["code"])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], Location.code, Location.name))
        return paginate(stmt, args)

    @require_role("editor")
    @blp.arguments(LocationSchema)
    @blp.response(201, LocationSchema)
    @blp.errors(409)
    def post(self, data):
        """Create a location (409 when the code is taken)."""
        return with_etag(create_row(Location, "code", data), 201)


@blp.route("/<int:location_id>")
class LocationResource(MethodView):
    @require_role("viewer")
    @blp.response(200, LocationSchema)
    def get(self, location_id):
        """One location, with its ETag."""
        return with_etag(get_or_404(Location, location_id))

    @require_role("editor")
    @blp.arguments(patch_schema(LocationSchema))
    @blp.response(200, LocationSchema)
    @blp.errors(409, 412, 428)
    def patch(self, data, location_id):
        """Change a location. Send If-Match with the ETag you read (412 when stale)."""
        return with_etag(update_row(get_or_404(Location, location_id), "code", data))

    @require_role("editor")
    @blp.response(204)
    @blp.errors(409, 412, 428)
    def delete(self, location_id):
        """Soft-delete a location; refused (409) while live assets use it."""
        row = get_or_404(Location, location_id)
        used = db.session.scalar(select(func.count()).where(Asset.location_id == row.id,
                                                            Asset.deleted_at.is_(None)))
        delete_row(row, in_use=used and f"{used} live asset(s) use location {row.code!r}: "
                                        "change or delete them first.")


@blp.route("/<int:location_id>/restore")
class LocationRestore(MethodView):
    @require_role("editor")
    @blp.response(200, LocationSchema)
    @blp.errors(409)
    def post(self, location_id):
        """Undo a soft delete (409 when the code was reused meanwhile)."""
        return with_etag(restore_row(get_or_404(Location, location_id, include_deleted=True), "code"))
