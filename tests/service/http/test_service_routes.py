"""/healthz and the OpenAPI schema, over a real store with a scripted LLM."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.conftest import Api

# --- service --------------------------------------------------------------------------------


def test_healthz_counts_the_store(client: TestClient, api: Api) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert health["articles"] == 1
    assert health["chunks"] == api.chunk_count > 1
    assert health["embed_model"] == "minilm-int8"  # the default


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/healthz", "/v1/query", "/v1/articles", "/v1/articles/{article_id}"} <= set(paths)
    assert "/v1/articles/{article_id}/passage" in paths
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "openapi.json" in docs.text
