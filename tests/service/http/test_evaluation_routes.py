"""POST /v1/eval and GET /v1/eval/{id}: batch evaluation as an HTTP job, over a real Chroma store and
the real MiniLM embedder, with a scripted LLM (the real-model evaluation is a benchmark)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Api

SEED_ID = "000_070c77320a5da855"
QUESTIONS = [
    {
        "id": "q1",
        "question": "Which newspaper reviewed the White House memo?",
        "answer": "Financial Times",
        "evidence": [{"article_id": SEED_ID}],
        "extra_field": "ignored",
    },
    {"id": "q2", "question": "Who won the 2022 FIFA World Cup final?", "answer": "Argentina", "evidence": []},
]


def _wait(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = dict(client.get(f"/v1/eval/{job_id}").json())
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_an_eval_job_runs_to_the_end_with_results_and_metrics(api: Api) -> None:
    api.llm.script("FT reviewed the White House memo [1].")
    started = api.client.post("/v1/eval", json={"questions": QUESTIONS})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["total"] == 2 and job["status"] in ("queued", "running", "done")
    body = _wait(api.client, job["id"])
    assert body["status"] == "done", body
    assert body["done"] == 2
    by_id = {r["id"]: r for r in body["results"]}
    assert set(by_id) == {"q1", "q2"}
    assert by_id["q1"]["abstained"] is False and "Financial Times (FT)" in by_id["q1"]["answer"]
    assert by_id["q1"]["citations"][0]["article_id"] == SEED_ID
    assert by_id["q2"]["abstained"] is True  # unrelated: stopped at the relevance gate
    for key in ("id", "question", "answer", "abstained", "citations", "retrieved", "gold", "scores", "timings_ms"):
        assert key in by_id["q1"]
    metrics = body["metrics"]
    assert metrics["n_questions"] == 2 and metrics["n_abstained"] == 1
    assert metrics["quote_mismatches"] == 0
    assert metrics["retrieval_hit@1"] == 1.0  # q1's gold article is the only one indexed


@pytest.mark.parametrize(
    "payload",
    [
        {"questions": []},
        {"questions": [{"id": "x"}]},
        {"questions": [{"id": "x", "question": "q?", "answer": 5}]},
        {"questions": [QUESTIONS[0], QUESTIONS[0]]},
        {"questions": QUESTIONS, "engine": "gpt"},
        {"questions": QUESTIONS, "top_k": 0},
        {"questions": QUESTIONS, "unknown": True},
        {"questions": "not a list"},
    ],
)
def test_bad_eval_requests_are_client_errors(api: Api, payload: dict[str, Any]) -> None:
    response = api.client.post("/v1/eval", json=payload)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_unknown_eval_job_is_404(api: Api) -> None:
    response = api.client.get("/v1/eval/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
