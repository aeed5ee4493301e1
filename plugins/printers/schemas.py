"""Printers request and response schemas. Author-owned: `copier update` never touches this file."""
from marshmallow import RAISE, Schema, fields, validate

from app.api.common import Integer, IPAddress, ListArgsSchema, Pattern, UTCDateTime, page_schema

# CUPS and Windows print servers both accept these: letters, digits, '_', '-' and '.', no spaces or '/'.
QUEUE = Pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                error="Use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit "
                      "(no spaces or slashes), e.g. cell4-labels.")


class PrinterSchema(Schema):
    """A printer as the API returns it."""

    asset_id = Integer(required=True)
    asset_tag = fields.String(attribute="asset.asset_tag", dump_only=True)
    asset_name = fields.String(attribute="asset.name", dump_only=True)
    model = fields.String()
    ip_address = fields.String(allow_none=True)
    queue_name = fields.String(allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class PrinterUpdateSchema(Schema):
    """The writable fields; a PATCH sends any of them. Unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE

    model = fields.String(validate=validate.Length(min=1, max=100))
    ip_address = IPAddress(allow_none=True)
    queue_name = fields.String(allow_none=True, validate=QUEUE, metadata={"description": "Unique."})


class PrinterCreateSchema(PrinterUpdateSchema):
    """A POST names the asset it extends and the printer model."""

    asset_id = Integer(required=True, validate=validate.Range(min=1))
    model = fields.String(required=True, validate=validate.Length(min=1, max=100))


class PrinterListArgsSchema(ListArgsSchema):
    """page, per_page, q, count, include_deleted (from the core) plus whitelisted filters."""

    model = fields.String(validate=validate.Length(min=1, max=100))
    ip_address = IPAddress()
    queue_name = fields.String(validate=QUEUE)


PrinterPageSchema = page_schema(PrinterSchema)
