"""Liveness, readiness and the OpenAPI document."""


def test_health_answers_without_database(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]


def test_ready_when_schema_at_heads(client):
    response = client.get("/api/ready")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["schema"]["current"] == body["schema"]["expected"] and body["problems"] == []
    assert isinstance(body["plugins"], list)


def test_ready_is_503_when_schema_is_behind(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path}/empty.sqlite")
    response = app.test_client().get("/api/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "not_ready" and body["database"] == "ok"
    assert body["schema"]["current"] == [] and body["schema"]["expected"]
    assert "flask db upgrade heads" in body["problems"][0]


def test_ready_is_503_when_database_is_unreachable(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path}/no-such-dir/x.sqlite")
    response = app.test_client().get("/api/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["database"].startswith("error:") and "unreachable" in body["problems"][0]
    # The health probe does not touch the database.
    assert app.test_client().get("/api/health").status_code == 200
