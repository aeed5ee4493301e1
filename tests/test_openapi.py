"""The OpenAPI document tells the truth: what can be null says so, what the API validates is stated, and every
operation lists the errors it can answer (no catch-all "default" response). tests/test_fuzz.py checks the same
against a running server; these read the document itself, quickly."""

import pytest

from app.api.common import INT_MAX
from app.config import Config

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_timestamps_that_can_be_null_are_nullable(spec):
    schemas = spec["components"]["schemas"]
    for name, field in (("Asset", "deleted_at"), ("AssetType", "deleted_at"), ("Location", "deleted_at"),
                        ("Token", "expires_at"), ("Token", "revoked_at"), ("NewToken", "expires_at"),
                        ("NewToken", "revoked_at")):
        assert schemas[name]["properties"][field].get("nullable") is True, (name, field)


def test_the_password_minimum_length_is_documented(spec):
    for name in ("User", "UserUpdate"):
        password = spec["components"]["schemas"][name]["properties"]["password"]
        assert password["minLength"] == Config.PASSWORD_MIN_LENGTH and password["maxLength"] == 1024


def test_every_integer_input_is_bounded_to_the_int_range(spec):
    """Path, query and body integers all carry a maximum the database can hold: past it is a 404 or a 422."""
    seen = []
    for path, method, operation in operations(spec):
        params = spec["paths"][path].get("parameters", []) + operation.get("parameters", [])
        for param in params:
            if param["schema"].get("type") == "integer":
                seen.append((path, method, param["name"], param["schema"]))
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body:
            schema = resolve(spec, body["allOf"][0] if "allOf" in body else body)
            for name, prop in schema["properties"].items():
                if prop.get("type") == "integer" and not prop.get("readOnly"):
                    seen.append((path, method, name, prop))
    assert len(seen) > 30
    for where in seen:
        assert 0 < where[3].get("maximum", INT_MAX + 1) <= INT_MAX, where
        assert where[3].get("minimum") is not None, where


def test_every_operation_lists_the_errors_it_answers(spec):
    for path, method, operation in operations(spec):
        responses = set(operation["responses"])
        where = f"{method.upper()} {path}"
        assert "default" not in responses, where
        if operation.get("security") != []:
            assert {"401", "403"} <= responses, where
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= responses, where
        if operation.get("parameters"):
            assert "422" in responses, where
        if method == "patch" and "/api/users" not in path:
            assert {"412", "428"} <= responses, where
        unique_keys = ("/api/assets", "/api/asset-types", "/api/locations", "/api/users")
        creates = method == "post" and ("{" not in path or path.endswith("/restore"))
        if creates and (path.startswith(unique_keys) or "/plugins/" in path) or \
                method == "patch" and path.startswith(unique_keys):
            assert "409" in responses, where  # a unique key (or the last admin) taken
    login = spec["paths"]["/api/auth/login"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(login)
    for error in ("401", "404", "409", "412", "422", "428", "429"):
        component = spec["components"]["responses"][{"401": "UNAUTHORIZED", "404": "NOT_FOUND", "409": "CONFLICT",
                                                       "412": "PRECONDITION_FAILED", "422": "UNPROCESSABLE_ENTITY",
                                                       "428": "PRECONDITION_REQUIRED",
                                                       "429": "TOO_MANY_REQUESTS"}[error]]
        assert component["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_a_patch_body_must_name_a_field(spec):
    patches = [operation for _path, method, operation in operations(spec) if method == "patch"]
    assert patches
    for operation in patches:
        assert operation["requestBody"]["content"]["application/json"]["schema"]["minProperties"] == 1
