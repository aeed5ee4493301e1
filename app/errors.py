"""The one JSON error shape of the API, core and plugins alike (re-exported by `app.api.common`).

Its own module, below `app.auth` and `app.api`, so both can raise it without importing each other.
"""

from flask import g, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import default_exceptions
from werkzeug.http import HTTP_STATUS_CODES


class ErrorDetailSchema(Schema):
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code, e.g. not_found."})
    message = fields.String(required=True, metadata={"description": "What went wrong and how to fix it."})
    details = fields.Raw(metadata={"description": "Per-field messages or other structured context."})
    request_id = fields.String(metadata={"description": "Matches the X-Request-ID response header."})


class ErrorSchema(Schema):
    """The one error shape: ``{"error": {"status", "code", "message", "details", "request_id"}}``."""

    error = fields.Nested(ErrorDetailSchema, required=True)


def abort_json(status, message, code=None, details=None, headers=None):
    """Stop the request with *status* and the documented JSON error body.

    *message* tells the client what is wrong and how to fix it; *code* defaults to the status name
    in snake case (e.g. ``precondition_failed``); *details* carries per-field messages.
    """
    exc = default_exceptions[status](description=message)
    exc.data = {"message": message, "code": code, "details": details, "headers": headers or {}}
    raise exc


def json_error(status, message, code=None, details=None, headers=None):
    """Build (not raise) a response with the documented error body; for error handlers and callbacks."""
    body = {"status": status,
            "code": code or HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_").replace("-", "_"),
            "message": message,
            "request_id": g.get("request_id")}
    if details:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    response.headers.update(headers or {})
    return response
