"""shopdb: the asset database API of a shop-floor site. `create_app()` is the application factory."""

import logging
import os
import re
import uuid

from flask import Flask, g, request
from flask_jwt_extended.exceptions import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app import extensions, models, plugins  # noqa: F401  (models: registers the core tables on db.metadata)
from app.api import register_blueprints
from app.api.common import IdConverter, id_converter_schema
from app.api.openapi import ErrorResponsesPlugin
from app.errors import ErrorSchema, abort_json, json_error
from app.networks import TrustedProxyFix
from app.auth import init_jwt
from app.cli import register_commands
from app.config import load_config, refuse_weak_config
from app.extensions import cors, db, jwt, migrate
from app.request_body import json_body_problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def create_app(config_name=None, overrides=None):
    """Build the app for *config_name* (default: $SHOPDB_ENV, else development).

    A production config with any weak setting exits non-zero here, listing every problem, so a
    server (gunicorn --preload) never binds. *overrides* (a dict) is applied last; tests use it.
    """
    name = config_name or os.environ.get("SHOPDB_ENV", "").strip() or "development"
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    config = load_config(name, app.instance_path)
    refuse_weak_config(config)
    app.config.from_object(config)
    app.config.update(overrides or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    logging.getLogger("app").setLevel(app.config["LOG_LEVEL"])
    # Before any route is added: every <int:...> in core and plugin routes is bounded (app.api.common.IdConverter).
    app.url_map.converters["int"] = IdConverter

    # One proxy hop (nginx), believed only from TRUSTED_PROXIES: X-Forwarded-For and -Proto (no absolute URLs are
    # built from Host).
    app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXIES"])

    _init_extensions(app)
    _register_request_hooks(app)
    _register_error_handlers(app)

    register_blueprints(app)
    register_commands(app)
    plugins.init_app(app)
    return app


def _init_extensions(app):
    db.init_app(app)
    migrate.init_app(app, db)
    jwt.init_app(app)
    init_jwt(app)
    # `app.api` is the blueprints package, so the flask-smorest Api is reached through `extensions`.
    api = extensions.api
    api.ERROR_SCHEMA = ErrorSchema
    # No catch-all "default" response: each operation lists the statuses it answers (app.api.openapi), so a
    # client or a fuzzer can tell a documented error from an undocumented one.
    api.DEFAULT_ERROR_RESPONSE_NAME = None
    api.init_app(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
    api.register_converter(IdConverter, id_converter_schema)
    api.spec.components.security_scheme("cookieAuth", {"type": "apiKey", "in": "cookie",
                                                       "name": "access_token_cookie"})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    if app.config["CORS_ORIGINS"]:
        cors.init_app(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
                      supports_credentials=True,
                      allow_headers=["Content-Type", "X-CSRF-TOKEN", "If-Match", "Authorization", "X-Request-ID"],
                      expose_headers=["ETag", "X-Request-ID"])


def _register_request_hooks(app):
    @app.before_request
    def _request_id_and_body_checks():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        if request.method not in _BODY_METHODS:
            return
        length = request.content_length
        if length and length > app.config["MAX_CONTENT_LENGTH"]:
            abort_json(413, f"The request body is {length} bytes; the limit is "
                            f"{app.config['MAX_CONTENT_LENGTH']} bytes. Send less data per request.")
        has_body = bool(length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if has_body and request.mimetype != "application/json":
            abort_json(415, f"Unsupported Content-Type {request.mimetype or '(none)'!r}: "
                            "send the body as JSON with 'Content-Type: application/json'.")
        problem = json_body_problem(request.get_data(cache=True)) if has_body else None
        if problem:
            status, message, details = problem
            abort_json(status, message, details=details)

    @app.after_request
    def _headers(response):
        response.headers.update(SECURITY_HEADERS)
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        return response


def _register_error_handlers(app):
    """Every error leaves as the JSON shape of `app.api.common.ErrorSchema`; never a stack trace."""
    log = logging.getLogger("app")

    def http_error(exc):
        data = getattr(exc, "data", None) or {}
        details = data.get("details") or data.get("messages") or data.get("errors")
        message = data.get("message") or exc.description
        if details and not data.get("message"):
            message = {400: "The request body is not valid JSON: fix its syntax (see details).",
                       422: "Invalid input: see details for each field, fix them and retry."}.get(exc.code, message)
        headers = dict(data.get("headers") or {})
        if exc.code == 405:
            headers["Allow"] = exc.get_response().headers.get("Allow", "")
        return json_error(exc.code, message, code=data.get("code"), details=details, headers=headers)

    def stale_write(_exc):
        db.session.rollback()
        return json_error(412, "The resource changed while you were writing it: GET it again and retry.")

    def csrf_failed(exc):
        return json_error(403, f"CSRF check failed ({exc}): copy the csrf_access_token cookie into the "
                               "X-CSRF-TOKEN header on every write.", code="csrf_failed")

    def integrity_error(_exc):
        # Last resort: a write path (a plugin's, say) that does not wrap its commit in commit_or_409.
        db.session.rollback()
        log.warning("integrity error answered 409 (request id %s)", g.get("request_id"), exc_info=True)
        return json_error(409, "The write conflicts with data another request just wrote (a unique or reference "
                               "constraint): GET the resource again and retry.", code="conflict")

    def unexpected(exc):
        db.session.rollback()
        log.exception("unhandled error (request id %s)", g.get("request_id"))
        return json_error(500, "Internal error: the server logged it under this request id.")

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(StaleDataError, stale_write)
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(IntegrityError, integrity_error)
    app.register_error_handler(Exception, unexpected)
