"""Helpers every API blueprint uses, core and plugins alike. These names are public and frozen:

    ErrorSchema, abort_json, json_error          the one JSON error shape
    Blueprint                                    flask-smorest's, with the core's argument rules (below)
    Integer, INT_MAX, Pattern, IPAddress         input fields and validators the OpenAPI document states exactly
    ListArgsSchema, PER_PAGE_DEFAULT, PER_PAGE_MAX, page_schema, paginate, search_filter
                                                 list arguments, envelope, constant-query pagination, q search
    patch_schema                                 PATCH bodies: any subset of a schema's fields
    UTCDateTime                                  timestamps in and out as UTC ISO 8601
    etag_of, etag_for, with_etag, check_if_match
                                                 optimistic concurrency (ETag / If-Match; covers every row shown)
    require_role, current_user                   authentication (JWT cookie or Bearer API token) and roles
    snapshot, record_audit                       the audit trail, written in the caller's transaction
    get_or_404                                   load a row by id, optionally including soft-deleted ones
    commit_or_409                                `with` it around a write: a unique violation from a concurrent
                                                 write is a 409, not a 500

Arguments parsed through `Blueprint` refuse a query parameter given twice and a PATCH body that names no
field (422), for core and plugin routes alike.

Typical plugin view::

    @blp.route("/<int:item_id>")
    class Item(MethodView):
        @require_role("viewer")          # outermost: authenticate before parsing any input
        @blp.response(200, ItemSchema)
        def get(self, item_id):
            return with_etag(get_or_404(MyItem, item_id))
"""

import base64
import hashlib
import ipaddress
import numbers
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from functools import wraps
from http import HTTPStatus
from uuid import UUID

import flask_smorest
from flask import current_app, g, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import IntegerConverter

from app.auth import caller_from_api_token, caller_from_session
from app.errors import ErrorDetailSchema, ErrorSchema, abort_json, json_error  # noqa: F401 - public here
from app.extensions import db
from app.models import ROLES, AuditLog, User, role_at_least, utcnow


# --- input fields the OpenAPI document states exactly ------------------------------------------------

# Ids, versions and counts are INT columns (32-bit signed on MariaDB). Every integer the API reads is bounded to
# that range, so a bigger number is a 422 (or a 404 in a path) instead of an OverflowError or an out-of-range write.
INT_MAX = 2**31 - 1
_INT_RANGE = validate.Range(min=-INT_MAX - 1, max=INT_MAX)


class Integer(fields.Integer):
    """An integer input: within -INT_MAX-1..INT_MAX (documented as minimum/maximum; narrow it further with a
    Range validator), and never a number with a fraction (fields.Integer would cut 1.5 to 1)."""

    def __init__(self, *, validate=None, **kwargs):
        extra = [] if validate is None else [validate] if callable(validate) else list(validate)
        super().__init__(validate=[_INT_RANGE, *extra], **kwargs)

    def _validated(self, value):
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and value != int(value):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class IdConverter(IntegerConverter):
    """The ``<int:...>`` URL converter of every route, core and plugins: a number past INT_MAX matches no route
    (404), so it never reaches the database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def id_converter_schema(converter):
    """How `IdConverter` path parameters appear in the OpenAPI document."""
    return {"type": "integer", "minimum": converter.min or 0, "maximum": converter.max}


class Pattern(validate.Regexp):
    """validate.Regexp matching the whole value, as the document's ``pattern`` (``^...$`` in JSON Schema) does:
    Python's ``$`` also matches before a final newline, so ``Regexp(r"^a$")`` would accept ``"a\n"``."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class IPAddress(fields.String):
    """An IPv4 or IPv6 address, stored in its canonical form (e.g. ``fd00::15``)."""

    def __init__(self, **kwargs):
        metadata = {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}], **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValidationError("Not a valid IPv4 or IPv6 address (e.g. 10.20.0.15 or fd00::15).") from None


# --- argument parsing -------------------------------------------------------------------------------

class _Parser(FlaskParser):
    """webargs' parser with the two rules a schema cannot state."""

    def load_querystring(self, req, schema):
        # Werkzeug would hand the schema the first of `per_page=1&per_page=999`; a client sending both meant
        # something the API cannot guess.
        repeated = {name: [f"Given {len(values)} times: send it once."]
                    for name, values in req.args.lists() if len(values) > 1}
        if repeated:
            raise ValidationError(repeated)
        return super().load_querystring(req, schema)

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if req.method == "PATCH" and (data is webargs_core.missing or data == {}):
            raise ValidationError({"_schema": ["Send a JSON object with at least one field to change."]})
        return data


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the core's argument rules; core and plugin routes use this one."""

    ARGUMENTS_PARSER = _Parser()

    def errors(self, *statuses):
        """Document the error statuses the view's own logic answers, e.g. ``@blp.errors(409, 412, 428)`` (the
        app-wide ones, 401/403/404/400/413/415, are added by rule: app.api.openapi)."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func

        return decorator


class UTCDateTime(fields.DateTime):
    """A timestamp field for the naive-UTC columns: dumped with an explicit +00:00 offset; input with an
    offset is converted to UTC, input without one is taken as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.astimezone(timezone.utc).replace(tzinfo=None) if result.tzinfo else result


# --- lists ------------------------------------------------------------------------------------------

PER_PAGE_DEFAULT = 50
# Hard cap: a bigger per_page is refused (422), never silently cut.
PER_PAGE_MAX = 500


class ListArgsSchema(Schema):
    """Query arguments every list endpoint accepts. Subclass it and add whitelisted filter fields.

    ``page`` (from 1), ``per_page`` (1..PER_PAGE_MAX, default PER_PAGE_DEFAULT; larger is a 422, never a
    silent cut), ``q`` (substring search), ``count`` (``false`` skips the total count query),
    ``include_deleted`` (also list soft-deleted rows). Unknown arguments are rejected with 422.
    """

    class Meta:
        unknown = RAISE

    page = Integer(load_default=1, validate=validate.Range(min=1))
    per_page = Integer(load_default=PER_PAGE_DEFAULT, validate=validate.Range(min=1, max=PER_PAGE_MAX))
    # Control characters are refused: SQLite would cut a LIKE pattern at a NUL and match everything.
    q = fields.String(validate=[validate.Length(min=1, max=200),
                                Pattern(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")])
    count = fields.Boolean(load_default=True)
    include_deleted = fields.Boolean(load_default=False)


def page_schema(item_schema, name=None):
    """Return the list envelope schema for *item_schema*:
    ``{"items": [...], "page": n, "per_page": n, "total": n | null, "total_exact": bool, "has_next": bool}``."""
    item_name = item_schema.__name__.removesuffix("Schema")
    return type(
        name or f"{item_name}PageSchema",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(allow_none=True, metadata={
                "description": "The number of matches; null when count=false. Exact when total_exact is true; "
                               "otherwise a lower bound: more than LIST_COUNT_LIMIT rows match (docs/adr/0008)."}),
            "total_exact": fields.Boolean(required=True, metadata={
                "description": "false when total is only a lower bound (more matches than the site counts)."}),
            "has_next": fields.Boolean(required=True),
        },
    )


def patch_schema(schema_cls):
    """A subclass of *schema_cls* that loads PATCH bodies: any subset of the fields, no defaults filled in.

    Named ``<Name>PatchSchema`` so the OpenAPI document shows it as its own component.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        schema_cls.__init__(self, *args, **kwargs)

    return type(schema_cls.__name__.removesuffix("Schema") + "PatchSchema", (schema_cls,), {"__init__": __init__})


def paginate(stmt, args):
    """Run a SELECT of ORM rows one page at a time, in a constant number of queries.

    *stmt* must already carry filters and a stable ORDER BY (e.g. the primary key). One query fetches the
    keys of ``per_page + 1`` rows (the extra one answers ``has_next``), one loads that page's rows, and,
    unless ``count`` is false or this is the last page (its offset plus its rows is the total), one more
    counts the matches, up to the site's ``LIST_COUNT_LIMIT`` (beyond it ``total`` is a lower bound and
    ``total_exact`` false). Many-to-one relations should be eager-loaded by join so loading the rows costs one SELECT.
    Returns the envelope dict for ``page_schema``.
    """
    page, per_page = args["page"], args["per_page"]
    offset = (page - 1) * per_page
    mapper = sa_inspect(stmt.column_descriptions[0]["entity"])
    if len(mapper.primary_key) == 1:
        # Deferred join: the page's keys first (an index walk), then only those rows with their eager joins,
        # so a deep OFFSET does not join every skipped row (20x faster at offset 50,000; bench/api.py).
        key = mapper.primary_key[0]
        keys = db.session.scalars(stmt.with_only_columns(key).limit(per_page + 1).offset(offset)).all()
        has_next, keys = len(keys) > per_page, keys[:per_page]
        position = {value: n for n, value in enumerate(keys)}
        rows = db.session.scalars(select(mapper.class_).where(key.in_(keys))).unique().all() if keys else []
        rows.sort(key=lambda row: position[mapper.primary_key_from_instance(row)[0]])
    else:  # a composite primary key (a site plugin may have one): the plain query
        rows = db.session.scalars(stmt.limit(per_page + 1).offset(offset)).unique().all()
        has_next, rows = len(rows) > per_page, rows[:per_page]
    total, exact = None, True
    if args.get("count", True):
        if not has_next and (rows or page == 1):
            # The last page knows the total: skip the count, which scans every match (bench/api.py).
            total = offset + len(rows)
        else:
            total, exact = _bounded_count(stmt, mapper, current_app.config["LIST_COUNT_LIMIT"])
            if not exact:  # a page past the bound still knows how many rows it has seen
                total = max(total, offset + len(rows) + has_next)
    return {"items": rows, "page": page, "per_page": per_page, "total": total, "total_exact": exact,
            "has_next": has_next}


def _bounded_count(stmt, mapper, limit):
    """Count the matches of *stmt*, but stop after *limit* + 1 of them: ``(limit, False)`` then, else
    ``(count, True)``. The count walks at most that many index entries, whatever the table's size
    (docs/adr/0008-bounded-list-totals.md)."""
    # The ORDER BY stays: with it MariaDB walks the index the page's own key query walks; without it, it chose an
    # index_merge of the filter's index with the (unselective) deleted_at one, 7x slower (bench/api.py).
    keys = stmt.with_only_columns(*mapper.primary_key).limit(limit + 1).subquery()
    counted = db.session.scalar(select(func.count()).select_from(keys))
    return (counted, True) if counted <= limit else (limit, False)


def search_filter(q, *columns):
    """A WHERE clause matching *q* as a literal substring of any of *columns* (LIKE wildcards escaped)."""
    return or_(*(column.contains(q, autoescape=True) for column in columns))


# --- optimistic concurrency -------------------------------------------------------------------------

def etag_of(obj):
    """The strong ETag (unquoted) of a versioned row: changes on every committed update.

    A row whose body also shows other rows' fields (a plugin detail showing its asset's tag and name) defines
    ``etag_versions``, the versions of every row its body shows, so the ETag changes whenever the body does.
    """
    return etag_for(obj.__tablename__, obj.id, *getattr(obj, "etag_versions", (obj.version,)))


def etag_for(table, row_id, *versions):
    """`etag_of` for a row read without the ORM: its table name, id and the version(s) its body shows."""
    return hashlib.sha256(f"{table}:{row_id}:{':'.join(map(str, versions))}".encode()).hexdigest()[:32]


def with_etag(obj, status=200):
    """Return ``(obj, status, {"ETag": ...})`` for a flask-smorest view, so reads carry the ETag."""
    return obj, status, {"ETag": f'"{etag_of(obj)}"'}


def check_if_match(obj):
    """Honour If-Match before a write: 412 when it names another version of *obj*.

    Without If-Match the write goes ahead, unless REQUIRE_IF_MATCH is set (then 428).
    """
    if not request.headers.get("If-Match"):
        if current_app.config["REQUIRE_IF_MATCH"]:
            abort_json(428, "This write needs an If-Match header: send the ETag from your last GET.")
        return
    if not request.if_match.contains(etag_of(obj)) and not request.if_match.star_tag:
        abort_json(412, "The resource changed since you read it (ETag mismatch): GET it again, "
                        "reapply your change and send the new ETag in If-Match.")


# --- authentication and roles -----------------------------------------------------------------------

def _authenticate():
    """The caller (a row: id, username, role) from a Bearer API token or the JWT access cookie; 401 when neither
    is valid, 403 when a token's scope or networks refuse this request (app.auth)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort_json(401, "Malformed Authorization header: use 'Authorization: Bearer <api token>'.",
                       code="invalid_token")
        g.auth_method = "token"
        return caller_from_api_token(token.strip())
    g.auth_method = "cookie"
    return caller_from_session()


def require_role(role):
    """Decorator: authenticate the request, then require *role* or above (viewer < editor < admin).

    Viewers read, editors write assets and reference data, admins manage users and tokens.
    401 when not authenticated, 403 when the role is too low. Put it above the flask-smorest decorators,
    so a caller without the right gets 401/403 before their input is parsed (never a 422 first). Cookie sessions must send X-CSRF-TOKEN
    on writes (flask-jwt-extended checks it); Bearer tokens need no CSRF header.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {ROLES}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.caller = caller = _authenticate()
            if not role_at_least(caller.role, role):
                abort_json(403, f"This needs the {role} role; you are {caller.role}. Ask an admin.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_user():
    """The authenticated User of this request (None outside `require_role`-protected views).

    Loaded through the Session on first use: most requests never need the ORM object, only the caller's role.
    """
    caller = g.get("caller")
    return db.session.get(User, caller.id) if caller else None


# --- audit ------------------------------------------------------------------------------------------

def _json_value(value):
    """*value* (anything a column can map to) as JSON: Decimal as its exact string, datetime as UTC ISO 8601 with
    +00:00 (as UTCDateTime dumps it; naive values are UTC), date and time as ISO 8601, Enum as its value, UUID as
    its string, bytes as base64, timedelta as seconds; JSON columns (dicts, lists) converted item by item."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)  # never float: the audit must show the stored digits
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return _json_value(value.value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(item) for item in value]
    raise TypeError(f"snapshot: no JSON form for {type(value).__name__} values; convert it in the caller")


def snapshot(obj, exclude=("deleted_marker",)):
    """A JSON-safe dict of *obj*'s column values, for audit before/after (each value through `_json_value`)."""
    return {column.key: _json_value(getattr(obj, column.key))
            for column in obj.__table__.columns if column.key not in exclude}


def record_audit(action, entity, entity_id, before=None, after=None):
    """Add an audit row to the current session; it commits (or rolls back) with the change it records.

    *action* e.g. create/update/delete/restore; *entity* the table or resource name; *before* and *after*
    dicts from `snapshot()`. The actor and the request id come from the request.
    """
    caller = g.get("caller")  # not current_user(): that would load the User just for its id and name
    db.session.add(AuditLog(
        created_at=utcnow(),
        actor_id=caller.id if caller else None,
        actor=caller.username if caller else "system",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=g.get("request_id"),
    ))


def get_or_404(model, ident, include_deleted=False):
    """Load *model* by primary key; 404 (JSON) when absent or soft-deleted (unless *include_deleted*)."""
    obj = db.session.get(model, ident)
    if obj is None or (not include_deleted and getattr(obj, "deleted_at", None) is not None):
        abort_json(404, f"No {model.__tablename__} row with id {ident}.")
    return obj


@contextmanager
def commit_or_409(message, details=None):
    """``with commit_or_409(message): <add, flush, record_audit>``: the block's writes, then one commit. A unique
    key taken by a concurrent write (one that passed the pre-check at the same time), whether the database says so
    at a flush in the block or at the commit, rolls everything back and answers 409 with *message* (and *details*)
    instead of a 500. Nothing of the request is kept."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort_json(409, message, code="conflict", details=details)
