"""The OpenAPI document's error responses that app-wide layers answer, added to each operation in one place.

Which statuses an operation can answer follows from where it sits, not from its view code, so they are stated by
rule here (an apispec plugin, flask-smorest's `extra_plugins`) rather than repeated on every view:

- 401 and 403 on every operation that needs credentials (none or bad ones; a role too low; a cookie write
  without its CSRF header);
- 404 on every path with a parameter (no such row; an id past INT_MAX matches no route);
- 400, 413 and 415 on every operation with a JSON body (malformed or nested too deeply, too large, not JSON);
- a PATCH body must name at least one field (`minProperties: 1`; the argument parser refuses ``{}`` with 422).

A view states the errors of its own logic with ``@blp.alt_response`` (409, 412, 428, 429); `blp.arguments`
documents its 422.
"""

from http import HTTPStatus

from apispec import BasePlugin

_METHODS = ("get", "post", "put", "patch", "delete")


class ErrorResponsesPlugin(BasePlugin):
    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in _METHODS:
                continue
            statuses = []
            if operation.get("security") != []:  # [] marks the public operations (health, login)
                statuses += [401, 403]
            if "{" in path:
                statuses.append(404)
            body = operation.get("requestBody")
            if body:
                statuses += [400, 413, 415]
                if method == "patch":
                    for media in body.get("content", {}).values():
                        media["schema"] = {"allOf": [media["schema"]], "minProperties": 1}
            responses = operation.setdefault("responses", {})
            for status in statuses:
                if status not in responses and str(status) not in responses:
                    responses[status] = HTTPStatus(status).name
