"""Computers request and response schemas. Author-owned: `copier update` never touches this file."""
from marshmallow import RAISE, Schema, fields, validate

from app.api.common import ListArgsSchema, page_schema


class ComputersDetailSchema(Schema):
    """A computers detail as the API returns it."""

    asset_id = fields.Integer(required=True)
    asset_tag = fields.String(attribute="asset.asset_tag", dump_only=True)
    asset_name = fields.String(attribute="asset.name", dump_only=True)
    label = fields.String(allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ComputersDetailUpdateSchema(Schema):
    """The writable fields; a PATCH sends any of them. Unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE

    label = fields.String(allow_none=True, validate=validate.Length(max=100))


class ComputersDetailCreateSchema(ComputersDetailUpdateSchema):
    """A POST names the asset it extends."""

    asset_id = fields.Integer(required=True, validate=validate.Range(min=1))


class ComputersListArgsSchema(ListArgsSchema):
    """page, per_page, q, count, include_deleted (from the core) plus this list's whitelisted filters."""

    label = fields.String(validate=validate.Length(min=1, max=100))
    asset_id = fields.Integer(validate=validate.Range(min=1))


ComputersDetailPageSchema = page_schema(ComputersDetailSchema)
