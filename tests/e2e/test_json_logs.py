"""``citewire serve`` with CITEWIRE_LOG_FORMAT=json, as a real process: every line of its log is one
JSON object, and a request's access line carries the id the response echoed."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import seeded_server

pytestmark = pytest.mark.slow


def test_every_log_line_is_json_and_requests_carry_their_id(tmp_path: Path) -> None:
    env = {"CITEWIRE_LOG_FORMAT": "json", "CITEWIRE_LLM_MODEL": "tiny"}
    with seeded_server(tmp_path, env) as base:
        given = httpx.get(f"{base}/v1/articles", headers={"X-Request-ID": "trace-42"}, timeout=30)
        made = httpx.get(f"{base}/v1/articles/nope", timeout=30)
        metrics = httpx.get(f"{base}/metrics", timeout=30).text
    assert given.headers["x-request-id"] == "trace-42"
    assert made.status_code == 404 and len(made.headers["x-request-id"]) == 32
    assert 'citewire_http_requests_total{method="GET",route="/v1/articles/{article_id}",status="404"} 1.0' in metrics
    lines = [line for line in (tmp_path / "server.log").read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert any(r["logger"].startswith("uvicorn") for r in records)  # the server's own lines too
    access = {r["request_id"]: r for r in records if r["logger"] == "citewire.access"}
    assert access["trace-42"]["route"] == "/v1/articles" and access["trace-42"]["status"] == 200
    assert access[made.headers["x-request-id"]]["status"] == 404
