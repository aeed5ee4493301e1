"""Computers request and response schemas. Author-owned: `copier update` never touches this file.

Input is normalized on load, so filters and the unique hostname compare like with like: hostnames
lower-case, IP addresses canonical, MAC addresses as aa:bb:cc:dd:ee:ff. Each format is validated by the pattern (or
format) the OpenAPI document states, so what the document allows is what the API accepts.
"""
import re

from marshmallow import RAISE, Schema, fields, validate

from app.api.common import Integer, IPAddress, ListArgsSchema, Pattern, UTCDateTime, page_schema

# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 characters each, at most
# 253 in all as sent (an optional root dot included; it is dropped). Any case on input, stored lower-case.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_LENGTH = validate.Length(min=1, max=253)
HOSTNAME = Pattern(rf"^{_LABEL}(\.{_LABEL})*\.?$",
                   error="Not a valid host name: use letters, digits and hyphens in dot-separated labels of at "
                         "most 63 characters (e.g. cell4-pc01.plant.example).")
# aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff (Cisco); any case on input, stored as aa:bb:cc:dd:ee:ff.
MAC = Pattern(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}$"
              r"|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$",
              error="Not a valid MAC address: six hex pairs, e.g. 00:1a:2b:3c:4d:5e.")


class Hostname(fields.String):
    def __init__(self, **kwargs):
        super().__init__(validate=[HOSTNAME_LENGTH, HOSTNAME], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        # The input's form is what the document describes: check it before normalizing.
        text = HOSTNAME(HOSTNAME_LENGTH(super()._deserialize(value, attr, data, **kwargs)))
        return text.lower().removesuffix(".")


class MACAddress(fields.String):
    def __init__(self, **kwargs):
        super().__init__(validate=MAC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = MAC(super()._deserialize(value, attr, data, **kwargs))  # the input's form, before normalizing it
        digits = re.sub(r"[^0-9a-f]", "", text.lower())
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


class ComputerSchema(Schema):
    """A computer as the API returns it."""

    asset_id = Integer(required=True)
    asset_tag = fields.String(attribute="asset.asset_tag", dump_only=True)
    asset_name = fields.String(attribute="asset.name", dump_only=True)
    hostname = fields.String()
    os = fields.String(allow_none=True)
    ip_address = fields.String(allow_none=True)
    mac_address = fields.String(allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class ComputerUpdateSchema(Schema):
    """The writable fields; a PATCH sends any of them. Unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE

    hostname = Hostname(metadata={"description": "Unique; stored lower-case."})
    os = fields.String(allow_none=True, validate=validate.Length(min=1, max=100),
                       metadata={"description": "Operating system, e.g. Windows 10 IoT LTSC 2021."})
    ip_address = IPAddress(allow_none=True)
    mac_address = MACAddress(allow_none=True)


class ComputerCreateSchema(ComputerUpdateSchema):
    """A POST names the asset it extends and its hostname."""

    asset_id = Integer(required=True, validate=validate.Range(min=1))
    hostname = Hostname(required=True, metadata={"description": "Unique; stored lower-case."})


class ComputerListArgsSchema(ListArgsSchema):
    """page, per_page, q, count, include_deleted (from the core) plus whitelisted filters."""

    hostname = Hostname()
    os = fields.String(validate=validate.Length(min=1, max=100))
    ip_address = IPAddress()
    mac_address = MACAddress()


ComputerPageSchema = page_schema(ComputerSchema)
