"""Computers request and response schemas. Author-owned: `copier update` never touches this file.

Input is normalized on load, so filters and the unique hostname compare like with like: hostnames
lower-case, IP addresses canonical, MAC addresses as aa:bb:cc:dd:ee:ff.
"""
import ipaddress
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.api.common import ListArgsSchema, UTCDateTime, page_schema

# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1-63 chars each.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
# aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff (Cisco); any case.
_MAC = re.compile(r"^([0-9a-f]{2}([:-])[0-9a-f]{2}(\2[0-9a-f]{2}){4}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})$")


class Hostname(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs).strip().lower().rstrip(".")
        if not _HOSTNAME.match(name):
            raise ValidationError("Not a valid host name: use letters, digits and hyphens in dot-separated "
                                  "labels of at most 63 characters (e.g. cell4-pc01.plant.example).")
        return name


class IPAddress(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValidationError("Not a valid IPv4 or IPv6 address (e.g. 10.20.0.15 or fd00::15).") from None


class MACAddress(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if not _MAC.match(text):
            raise ValidationError("Not a valid MAC address: six hex pairs, e.g. 00:1a:2b:3c:4d:5e.")
        digits = re.sub(r"[^0-9a-f]", "", text)
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


class ComputerSchema(Schema):
    """A computer as the API returns it."""

    asset_id = fields.Integer(required=True)
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

    asset_id = fields.Integer(required=True, validate=validate.Range(min=1))
    hostname = Hostname(required=True, metadata={"description": "Unique; stored lower-case."})


class ComputerListArgsSchema(ListArgsSchema):
    """page, per_page, q, count, include_deleted (from the core) plus whitelisted filters."""

    hostname = Hostname()
    os = fields.String(validate=validate.Length(min=1, max=100))
    ip_address = IPAddress()
    mac_address = MACAddress()


ComputerPageSchema = page_schema(ComputerSchema)
