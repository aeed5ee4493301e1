"""Equipment request and response schemas. Author-owned: `copier update` never touches this file."""
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from app.api.common import Integer, ListArgsSchema, UTCDateTime, page_schema

TEXT = validate.Length(min=1, max=100)


class MachineSchema(Schema):
    """A machine tool as the API returns it."""

    asset_id = Integer(required=True)
    asset_tag = fields.String(attribute="asset.asset_tag", dump_only=True)
    asset_name = fields.String(attribute="asset.name", dump_only=True)
    make = fields.String()
    model = fields.String()
    controller = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    install_date = fields.Date(allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class MachineUpdateSchema(Schema):
    """The writable fields; a PATCH sends any of them. Unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE

    make = fields.String(validate=TEXT)
    model = fields.String(validate=TEXT)
    controller = fields.String(allow_none=True, validate=TEXT)
    serial = fields.String(allow_none=True, validate=validate.Length(min=1, max=128))
    install_date = fields.Date(allow_none=True,
                               metadata={"description": "ISO date, e.g. 2024-03-18; not in the future."})

    @validates("install_date")
    def _not_in_the_future(self, value, **_):
        if value is not None and value > date.today():
            raise ValidationError("The install date is in the future; give the date the machine was installed.")


class MachineCreateSchema(MachineUpdateSchema):
    """A POST names the asset it extends; make and model are required."""

    asset_id = Integer(required=True, validate=validate.Range(min=1))
    make = fields.String(required=True, validate=TEXT)
    model = fields.String(required=True, validate=TEXT)


class MachineListArgsSchema(ListArgsSchema):
    """page, per_page, q, count, include_deleted (from the core) plus whitelisted filters."""

    make = fields.String(validate=TEXT)
    model = fields.String(validate=TEXT)
    controller = fields.String(validate=TEXT)
    serial = fields.String(validate=validate.Length(min=1, max=128))
    installed_since = fields.Date(metadata={"description": "Only machines installed on or after this date."})


MachinePageSchema = page_schema(MachineSchema)
