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
    assert body["schema"]["current"] == body["schema"]["expected"]
    assert "core_0001" not in body["schema"]["expected"] or len(body["schema"]["expected"]) >= 1
