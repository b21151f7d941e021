"""Metrics, request ids, JSON logs and readiness, over the real store and embedder with a scripted LLM,
plus one real uvicorn server for the id on a streamed answer."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.http.app import create_app
from service.http.observability import JsonFormatter, RequestIdFilter, install_observability, readiness
from service.settings import Settings
from tests.e2e.servers import free_port
from tests.service.conftest import Api, api_settings

ANSWERABLE = "Who reviewed the White House memo?"
UNRELATED = "Who won the 2022 FIFA World Cup final?"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """The JSON lines written while the test runs, from the access log and the test's own logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("citewire.access"), logging.getLogger("tests.observability")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template_and_time_the_answers(api: Api) -> None:
    client, article_id = api.client, api.article.id
    before = _samples(client)
    api.llm.script("FT reviewed the memo [1].")
    assert client.post("/v1/query", json={"question": ANSWERABLE}).json()["abstained"] is False
    assert client.post("/v1/query", json={"question": UNRELATED}).json()["abstained"] is True
    assert client.get(f"/v1/articles/{article_id}").status_code == 200
    assert client.get("/v1/articles/no-such-article").status_code == 404
    assert client.get("/no/such/page").status_code == 404

    after = _samples(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "citewire_http_requests_total"
    assert grew(requests, method="POST", route="/v1/query", status="200") == 2
    assert grew(requests, method="GET", route="/v1/articles/{article_id}", status="200") == 1
    assert grew(requests, method="GET", route="/v1/articles/{article_id}", status="404") == 1
    assert grew(requests, method="GET", route="unmatched", status="404") == 1
    assert not any(article_id in str(labels) for _, labels in after)  # templates only: bounded labels
    assert grew("citewire_http_request_duration_seconds_count", method="POST", route="/v1/query") == 2

    assert grew("citewire_answers_total", outcome="cited") == 1
    assert grew("citewire_answers_total", outcome="abstained") == 1
    assert grew("citewire_answer_seconds_count", stage="retrieve") == 2
    assert grew("citewire_answer_seconds_count", stage="total") == 2
    assert grew("citewire_answer_seconds_count", stage="generate") == 1  # the abstention never reached the model
    assert grew("citewire_answer_seconds_sum", stage="total") > 0
    assert grew("citewire_generated_tokens_total") == len("FT reviewed the memo [1].".split())
    assert _value(after, "citewire_generation_queue_depth") == 0
    assert _value(after, "citewire_generations_active") == 0


def test_streamed_answers_are_counted_too(api: Api) -> None:
    before = _samples(api.client)
    api.llm.script("FT reviewed the memo [1].")
    with api.client.stream("POST", "/v1/query", json={"question": ANSWERABLE, "stream": True}) as response:
        assert response.status_code == 200
        assert "event: final" in response.read().decode()
    after = _samples(api.client)
    assert _value(after, "citewire_answers_total", outcome="cited") == (
        _value(before, "citewire_answers_total", outcome="cited") + 1
    )


def test_article_writes_are_counted_by_outcome(api: Api) -> None:
    client = api.client
    before = _samples(client)
    body = {"title": "Observed", "text": "The observatory opened on Monday. It will be open every weekday."}
    assert client.put("/v1/articles/observed-1", json=body).json()["outcome"] == "created"
    assert client.put("/v1/articles/observed-1", json=body).json()["outcome"] == "unchanged"
    assert client.put("/v1/articles/observed-1", json={**body, "title": "Observed again"}).json()["outcome"] == (
        "replaced"
    )
    assert client.delete("/v1/articles/observed-1").status_code == 200
    assert client.delete("/v1/articles/observed-1").status_code == 404  # nothing deleted: not counted
    after = _samples(client)
    for outcome in ("created", "unchanged", "replaced", "deleted"):
        grown = _value(after, "citewire_article_writes_total", outcome=outcome)
        assert grown - _value(before, "citewire_article_writes_total", outcome=outcome) == 1, outcome


def test_metrics_with_a_multiprocess_folder_still_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = _samples(api.client)
    assert ("citewire_generation_queue_depth", frozenset()) in samples


# --- request ids and logs ---------------------------------------------------------------------


def test_a_request_id_is_echoed_or_made(api: Api) -> None:
    client = api.client
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y_z"}).headers["x-request-id"] == "abc-123.x:y_z"
    assert GENERATED_ID.fullmatch(client.get("/healthz").headers["x-request-id"])
    for bad in ("has spaces", "x" * 65, "semi;colon", "<script>"):
        echoed = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert GENERATED_ID.fullmatch(echoed), bad


def test_error_and_streamed_responses_carry_the_request_id(api: Api) -> None:
    client = api.client
    headers = {"X-Request-ID": "req-42"}
    assert client.get("/v1/articles/no-such-article", headers=headers).headers["x-request-id"] == "req-42"
    invalid = client.post("/v1/query", json={"question": ""}, headers=headers)
    assert invalid.status_code == 422
    assert invalid.headers["x-request-id"] == "req-42"
    too_big = client.post("/v1/query", content=b"x" * 100, headers={**headers, "content-length": str(10**9)})
    assert too_big.status_code == 413  # refused by the size limit, before any route
    assert too_big.headers["x-request-id"] == "req-42"
    api.llm.script("FT reviewed the memo [1].")
    payload = {"question": ANSWERABLE, "stream": True}
    with client.stream("POST", "/v1/query", json=payload, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"] == "req-42"
        response.read()


def test_access_lines_are_json_with_the_request_id(api: Api, access_log: io.StringIO) -> None:
    api.client.get(f"/v1/articles/{api.article.id}", headers={"X-Request-ID": "log-1"})
    api.client.get("/healthz")
    first, probe = _lines(access_log)
    assert first["request_id"] == "log-1"
    assert first["logger"] == "citewire.access"
    assert first["level"] == "INFO"
    assert first["method"] == "GET"
    assert first["route"] == "/v1/articles/{article_id}"
    assert first["status"] == 200
    assert first["duration_ms"] > 0
    assert first["timestamp"].endswith("+00:00")
    assert probe["level"] == "DEBUG"  # probes are polled all day: kept out of INFO
    assert GENERATED_ID.fullmatch(probe["request_id"])


def test_an_unexpected_error_is_a_500_with_the_id_and_every_line_carries_it(access_log: io.StringIO) -> None:
    """A bare app: a route that logs (in the thread pool) and then fails."""
    app = FastAPI()
    install_observability(app)

    @app.get("/boom")
    def boom() -> None:
        logging.getLogger("tests.observability").warning("about to fail")
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert response.headers["x-request-id"] == "boom-1"
    route_line, access_line = _lines(access_log)
    assert route_line["message"] == "about to fail"
    assert route_line["request_id"] == access_line["request_id"] == "boom-1"
    assert access_line["status"] == 500
    assert access_line["route"] == "/boom"


def test_plain_text_lines_carry_the_request_id_too() -> None:
    record = logging.makeLogRecord({"msg": "outside any request"})
    assert RequestIdFilter().filter(record)
    assert record.request_id == "-"
    entry = json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "hi %s", "args": ("there",)})))
    assert entry["message"] == "hi there"
    assert entry["request_id"] is None


# --- readiness and access ---------------------------------------------------------------------


def test_readyz_is_200_once_models_and_store_are_loaded(api: Api) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["articles"] >= 1
    assert body["chunks"] >= api.chunk_count


def test_readyz_is_503_before_the_state_is_built(tmp_path: Path) -> None:
    client = TestClient(create_app(api_settings(tmp_path)))  # no `with`: the lifespan never runs
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert response.json()["detail"]


def test_readyz_is_503_when_the_store_does_not_answer() -> None:
    class BrokenStore:
        def count_articles(self) -> int:
            raise ConnectionError("chroma is gone")

    state: Any = SimpleNamespace(engine=SimpleNamespace(llm=object(), embed_model=object()), store=BrokenStore())
    status, body = readiness(state)
    assert status == 503
    assert body == {"ready": False, "detail": "the store does not answer: ConnectionError"}


def test_probes_and_metrics_need_no_api_key(api: Api, tmp_path: Path, restore_torch_threads: None) -> None:
    settings = Settings(data_dir=tmp_path, api_key="s3cret-key-0123456789", protect_reads=True)  # type: ignore[arg-type]
    app = create_app(settings, engine=api.client.app.state.citewire.engine)  # type: ignore[attr-defined]
    with TestClient(app) as client:
        assert client.post("/v1/query", json={"question": ANSWERABLE}).status_code == 401
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 200, path


# --- a real server ----------------------------------------------------------------------------


def test_a_real_server_puts_the_id_on_a_streamed_answer(api: Api, tmp_path: Path, restore_torch_threads: None) -> None:
    app = create_app(api_settings(tmp_path), engine=api.client.app.state.citewire.engine)  # type: ignore[attr-defined]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        api.llm.script("FT reviewed the memo [1].")
        payload = {"question": ANSWERABLE, "stream": True}
        url = f"http://127.0.0.1:{port}/v1/query"
        with httpx.stream("POST", url, json=payload, headers={"X-Request-ID": "live-1"}, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["x-request-id"] == "live-1"
            assert "event: final" in response.read().decode()
        with httpx.stream("POST", url, json=payload, timeout=30) as response:
            assert GENERATED_ID.fullmatch(response.headers["x-request-id"])
            response.read()
    finally:
        server.should_exit = True
        thread.join(10)
