"""Conversations, streaming and the OpenAI-compatible API over HTTP with the real parts.

A real ``citewire serve`` (uvicorn, MiniLM, Chroma on disk) over the seed article: follow-ups with the
default Qwen2.5 1.5B model through /v1/chat and through the real ``openai`` client; the
queue with the tiny model told to write long answers, so generations last long enough to pile up.
(A client leaving mid-stream is tested in tests/service/test_stream_server.py, where a paced model
makes the timing exact.)"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.e2e.servers import seeded_server

pytestmark = pytest.mark.slow
FIRST = "Which company did the White House accuse of passing data to the Chinese authorities?"
FOLLOW_UP = "How did the company respond to the claims?"
SEED_ID = "000_070c77320a5da855"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("chat-data")) as base:
        yield base


def _chat(base: str, messages: list[dict[str, str]]) -> dict[str, object]:
    response = httpx.post(f"{base}/v1/chat", json={"messages": messages}, timeout=300)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_follow_up_about_the_seed_is_resolved_and_answered(server: str) -> None:
    first = _chat(server, [{"role": "user", "content": FIRST}])
    assert "Alibaba" in str(first["answer"]) and first["citations"]
    messages = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": str(first["answer"])},
        {"role": "user", "content": FOLLOW_UP},
    ]
    second = _chat(server, messages)
    assert "Alibaba" in str(second["standalone_question"])  # "the company" resolved before retrieval
    assert re.search(r"nonsense|den(y|ied|ies)", str(second["answer"]), re.IGNORECASE), second["answer"]
    assert second["citations"]


def test_the_openai_client_gets_answers_with_sources(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", timeout=300)
    assert [m.id for m in client.models.list()] == ["citewire"]
    question = [{"role": "user", "content": "Which newspaper reviewed the White House memo?"}]
    completion = client.chat.completions.create(model="citewire", messages=question)  # type: ignore[arg-type]
    content = completion.choices[0].message.content or ""
    assert "Financial Times" in content and "\n\nSources:\n[1] " in content
    extra = completion.model_extra or {}
    assert extra["citewire"]["citations"][0]["article_id"] == SEED_ID

    stream = client.chat.completions.create(model="citewire", messages=question, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == content  # the same checked answer, the same sources
    last = chunks[-1].model_extra or {}
    assert last["citewire"]["answer"] in text


def test_the_native_stream_sends_tokens_before_the_final_answer(server: str) -> None:
    started = time.monotonic()
    seen: list[tuple[str, float]] = []
    payload = {"question": "Which AI model does Alibaba own?", "stream": True}
    with httpx.stream("POST", f"{server}/v1/query", json=payload, timeout=300) as response:
        assert response.status_code == 200
        event = ""
        final: dict[str, object] = {}
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                seen.append((event, time.monotonic() - started))
                if event == "final":
                    final = json.loads(line[len("data: ") :])
    kinds = [kind for kind, _ in seen]
    assert kinds[-1] == "final" and kinds.count("token") >= 3
    assert seen[0][1] < seen[-1][1]  # the first words came before the checked answer
    assert "Qwen" in str(final["answer"])


@pytest.fixture(scope="module")
def long_talker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tiny model writing up to 2,000 tokens an answer, two requests allowed to wait, 20 s each."""
    env = {
        "CITEWIRE_LLM_MODEL": "tiny",
        "CITEWIRE_MAX_ANSWER_TOKENS": "2000",
        "CITEWIRE_MAX_QUEUED_REQUESTS": "2",
        "CITEWIRE_REQUEST_TIMEOUT_S": "20",
        "CITEWIRE_JUDGE_CLAIMS": "false",
    }
    with seeded_server(tmp_path_factory.mktemp("tiny-data"), env) as base:
        yield base


def test_many_clients_at_once_get_answers_or_503_never_500(long_talker: str) -> None:
    def ask(i: int) -> tuple[int, str | None, float]:
        started = time.monotonic()
        response = httpx.post(f"{long_talker}/v1/query", json={"question": f"What did Alibaba do? ({i})"}, timeout=90)
        return response.status_code, response.headers.get("retry-after"), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(ask, i) for i in range(8)]
        time.sleep(1.0)
        # Meanwhile, reading articles is not held up behind generation.
        started = time.monotonic()
        passage = httpx.get(f"{long_talker}/v1/articles/{SEED_ID}/passage", params={"start": 0, "end": 10}, timeout=10)
        assert passage.status_code == 200
        assert time.monotonic() - started < 2
        results = [f.result() for f in futures]
    codes = [code for code, _, _ in results]
    assert all(code in (200, 503, 504) for code in codes), codes
    assert codes.count(503) >= 5  # one generates, two wait: the rest are turned away at once
    assert all(retry is not None and int(retry) >= 1 for code, retry, _ in results if code == 503)
    assert max(elapsed for _, _, elapsed in results) < 20 + 30  # the timeout, plus the check of one answer
    assert httpx.get(f"{long_talker}/healthz", timeout=10).json()["status"] == "ok"
