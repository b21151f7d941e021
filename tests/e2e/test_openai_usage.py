"""OpenAI usage and /v1/models through the real ``openai`` client against a real ``citewire serve`` (tiny model).

The expected counts come from the server's log, where every model call writes what it read and generated, tagged
with its request's id: a request's usage must be the sum of exactly its own calls (the follow-up's rewrite, the
answer, the judge's checks), which run in several worker threads. That each call's own counts are llama.cpp's is
tested against llama.cpp's whole-reply counts in tests/service/llm/test_backends.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from service.llm.gguf import resolve_gguf
from tests.e2e.servers import seeded_server

pytestmark = pytest.mark.slow
FIRST = "Which company did the White House accuse of passing data to the Chinese authorities?"
FOLLOW_UP = "How did the company respond to the claims?"
CONVERSATION = [
    {"role": "user", "content": FIRST},
    {"role": "assistant", "content": "Alibaba [1]."},
    {"role": "user", "content": FOLLOW_UP},
]
UNRELATED = "Who won the 2022 FIFA World Cup final?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[openai.OpenAI, Path]]:
    data = tmp_path_factory.mktemp("usage-data")
    env = {"CITEWIRE_LLM_MODEL": "tiny", "CITEWIRE_LOG_FORMAT": "json", "CITEWIRE_LLM_THREADS": "1"}
    with seeded_server(data, env) as base:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=300), data / "server.log"


def _calls(log: Path, request_id: str) -> list[dict[str, Any]]:
    """The model calls the server logged for one request."""
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r for r in records if r["logger"] == "citewire.llm" and r["request_id"] == request_id]


def _expected(calls: list[dict[str, Any]]) -> dict[str, int]:
    prompt = sum(c["prompt_tokens"] for c in calls)
    completion = sum(c["completion_tokens"] for c in calls)
    cached = sum(c["cached_tokens"] for c in calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion} | {
        "cached_tokens": cached
    }


def _counts(usage: Any) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.prompt_tokens_details.cached_tokens,
    }


def test_usage_is_the_sum_of_the_requests_model_calls(served: tuple[openai.OpenAI, Path]) -> None:
    client, log = served
    whole = client.chat.completions.create(
        model="citewire",
        messages=CONVERSATION,  # type: ignore[arg-type]
        extra_headers={"X-Request-ID": "usage-whole"},
    )
    calls = _calls(log, "usage-whole")
    kinds = [c["model_call"] for c in calls]
    assert kinds[:2] == ["stream_chat", "stream_chat"], kinds  # the rewrite, then the answer (then the judge)
    assert all(c["prompt_tokens"] > 0 for c in calls) and calls[1]["completion_tokens"] > 0
    assert calls[0]["completion_tokens"] <= 96  # the rewrite's cap (service/answering/chat.py)
    assert whole.usage is not None and _counts(whole.usage) == _expected(calls)

    stream = client.chat.completions.create(
        model="anything",
        messages=CONVERSATION,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Request-ID": "usage-stream"},
    )
    chunks = list(stream)
    *answer, last = chunks
    assert all(c.usage is None for c in answer) and "".join(c.choices[0].delta.content or "" for c in answer)
    assert last.choices == [] and last.usage is not None
    streamed_calls = _calls(log, "usage-stream")
    assert _counts(last.usage) == _expected(streamed_calls)
    assert _counts(last.usage) == _counts(whole.usage)  # the same calls again: greedy, every prompt read afresh


def test_an_answer_without_a_model_call_reports_no_tokens(served: tuple[openai.OpenAI, Path]) -> None:
    client, log = served
    messages = [{"role": "user", "content": UNRELATED}]
    completion = client.chat.completions.create(
        model="citewire",
        messages=messages,  # type: ignore[arg-type]
        extra_headers={"X-Request-ID": "usage-none"},
    )
    assert completion.model_extra and completion.model_extra["citewire"]["abstained"]
    assert _calls(log, "usage-none") == []
    assert completion.usage is not None and _counts(completion.usage) == dict.fromkeys(_counts(completion.usage), 0)


def test_models_lists_citewire_over_the_configured_model(served: tuple[openai.OpenAI, Path], tmp_path: Path) -> None:
    client, _ = served
    (model,) = client.models.list()
    gguf = resolve_gguf("tiny", tmp_path)
    assert model.id == "citewire" and model.owned_by == "llamacpp:tiny"
    assert model.created == int(gguf.stat().st_mtime) and model.model_extra == {"root": gguf.name}
