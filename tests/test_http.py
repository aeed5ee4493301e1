"""HTTP surface: security headers, request ids, the OpenAPI document, CORS."""


def test_security_headers_on_every_response(client):
    for response in (client.get("/api/health"), client.get("/api/assets"), client.get("/api/nothing-here")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/api/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/health", headers={"X-Request-ID": "bad id; <script>"}).headers["X-Request-ID"]
    assert generated != "bad id" and len(generated) == 32


def test_openapi_document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/assets", "/api/assets/{asset_id}", "/api/assets/by-tag/{asset_tag}", "/api/asset-types",
                 "/api/locations", "/api/auth/login", "/api/users", "/api/tokens", "/api/health", "/api/ready"):
        assert path in spec["paths"], path
    assert "Error" in spec["components"]["schemas"]
    assert {"cookieAuth", "bearerAuth"} <= set(spec["components"]["securitySchemes"])
    assert spec["security"] == [{"cookieAuth": []}, {"bearerAuth": []}]
    assert spec["paths"]["/api/health"]["get"]["security"] == []
    assert spec["paths"]["/api/auth/login"]["post"]["security"] == []
    assert "security" not in spec["paths"]["/api/assets"]["get"]


def test_cors_only_for_listed_origins(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path}/cors.sqlite", CORS_ORIGINS=["https://intranet.example.net"])
    client = app.test_client()
    allowed = client.get("/api/health", headers={"Origin": "https://intranet.example.net"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://intranet.example.net"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    other = client.get("/api/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_no_cors_by_default(client):
    response = client.get("/api/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers
