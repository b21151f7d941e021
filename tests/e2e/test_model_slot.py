"""The one model slot over real HTTP (``citewire serve``, the tiny model, the seed): a client that leaves a
JSON answer frees the model within 2 s, and a question over the prompt budget is a 422 naming the limit."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.servers import seeded_server
from tests.e2e.test_seed_http import ANSWERABLE

pytestmark = pytest.mark.slow

ENV = {
    "CITEWIRE_LLM_MODEL": "tiny",
    "CITEWIRE_LLM_CONTEXT_TOKENS": "2048",
    "CITEWIRE_MAX_ANSWER_TOKENS": "1500",  # a long generation to leave in the middle of
    "CITEWIRE_JUDGE_CLAIMS": "false",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("slot"), env=ENV) as base:
        yield base


def _generating(base: str) -> int:
    return int(httpx.get(f"{base}/healthz", timeout=10).json()["generating"])


def test_a_client_leaving_a_json_answer_frees_the_model_within_two_seconds(server: str) -> None:
    question = ANSWERABLE[0][0] + " Explain it at great length, in every detail, in many paragraphs."

    def ask() -> None:
        with contextlib.suppress(httpx.TimeoutException):  # gives up after 3 s and closes the connection
            httpx.post(f"{server}/v1/query", json={"question": question}, timeout=3)

    client = threading.Thread(target=ask)
    client.start()
    deadline = time.monotonic() + 3
    while _generating(server) == 0:  # the answer is being written
        assert time.monotonic() < deadline, "the model never started"
        time.sleep(0.05)
    client.join()
    left = time.monotonic()
    still_generating = _generating(server)
    while _generating(server):
        time.sleep(0.05)
    freed_after = time.monotonic() - left
    assert still_generating == 1 or freed_after < 0.5  # it was left mid-answer, not after it
    assert freed_after <= 2.0, f"the model was busy {freed_after:.1f} s after the client left"


def test_a_question_over_the_prompt_budget_is_a_422_naming_the_limit(server: str) -> None:
    question = ((ANSWERABLE[0][0] + " ") * 40)[:2000]  # on topic: no abstention before the model
    names = ("The Financial Times", "Reuters", "The Wall Street Journal", "Bloomberg")
    choices = [(f"{name} reviewed the White House memo about Alibaba. " * 9)[:500] for name in names]
    response = httpx.post(f"{server}/v1/query", json={"question": question, "choices": choices}, timeout=60)
    assert response.status_code == 422, response.text
    assert "548-token prompt budget" in response.json()["detail"]
    assert "CITEWIRE_LLM_CONTEXT_TOKENS" in response.json()["detail"]
    assert httpx.post(f"{server}/v1/query", json={"question": ANSWERABLE[0][0]}, timeout=120).status_code == 200
