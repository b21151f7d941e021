"""The ``openai`` backend against a real OpenAI-compatible server: llama-cpp-python's own server
running the tiny packaged SmolLM2 model on a free loopback port; streaming included, down to a real
``citewire serve`` sending the external server's tokens to its own client as Server-Sent Events."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage

from index.ingest import ingest_articles
from index.loaders import load_file
from service.components import build_components, build_engine
from service.llm.backends import build_llm, usage_of
from service.llm.gguf import resolve_gguf
from service.llm.usage import TokenUsage, metering
from service.settings import Settings
from tests.e2e.servers import free_port, running, seeded_server
from tests.sse import sse_events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def openai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("llm-server")
    model = resolve_gguf("tiny", tmp / "cache")
    port = free_port()
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "tiny"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    with running(args, f"http://127.0.0.1:{port}/v1/models", tmp / "server.log", timeout=120):
        yield f"http://127.0.0.1:{port}/v1"


def test_chat_through_the_openai_backend(openai_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, llm_backend="openai", llm_model="tiny", openai_base_url=openai_url, max_answer_tokens=16
    )
    llm = build_llm(settings)
    with metering(TokenUsage()) as usage:
        response = llm.chat([ChatMessage(role="user", content="Say hello.")])
    assert (response.message.content or "").strip()
    prompt_tokens, completion_tokens = usage_of(response)
    assert prompt_tokens and prompt_tokens > 0
    assert completion_tokens and 0 < completion_tokens <= 16
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (prompt_tokens, completion_tokens, 1)


def test_engine_answers_through_the_openai_backend(openai_url: str, tmp_path: Path, seed_path: Path) -> None:
    """The whole answer path runs with an external server; the tiny model's words are still verified."""
    settings = Settings(data_dir=tmp_path, llm_backend="openai", llm_model="tiny", openai_base_url=openai_url)
    components = build_components(settings)
    ingest_articles(load_file(seed_path), components.store, components.embedder, components.chunking)
    engine = build_engine(components)
    answer = engine.answer("Who did Donald Trump meet in South Korea?")
    assert answer.timings_ms["generate"] > 0  # the server was really asked
    stored = components.store.get(seed_path.stem)
    assert stored is not None
    for citation in answer.citations:
        assert stored.article.text[citation.start : citation.end] == citation.quote
    assert answer.abstained or answer.citations


def test_the_openai_backend_streams_piece_by_piece(openai_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, llm_backend="openai", llm_model="tiny", openai_base_url=openai_url, max_answer_tokens=24
    )
    llm = build_llm(settings)
    parts = list(llm.stream_chat([ChatMessage(role="user", content="Count from one to ten in words.")]))
    deltas = [p.delta or "" for p in parts]
    assert len([d for d in deltas if d]) >= 3  # several pieces, not one reply at the end
    assert "".join(deltas) == parts[-1].message.content


def test_a_served_answer_streams_from_the_external_server(openai_url: str, tmp_path: Path) -> None:
    env = {"CITEWIRE_LLM_BACKEND": "openai", "CITEWIRE_LLM_MODEL": "tiny", "CITEWIRE_OPENAI_BASE_URL": openai_url}
    with seeded_server(tmp_path / "data", env) as base:
        payload = {"question": "Who did Donald Trump meet in South Korea?", "stream": True}
        response = httpx.post(f"{base}/v1/query", json=payload, timeout=300)
        assert response.status_code == 200
        health = httpx.get(f"{base}/healthz", timeout=10).json()
    assert health["llm"] == "openai:tiny"
    events = sse_events(response.content)
    kinds = [e.get("event", "message") for e in events]
    assert kinds[-1] == "final", kinds
    final = json.loads(events[-1]["data"])
    assert final["timings_ms"]["generate"] > 0  # the external server was asked (the seed answers this)
    assert kinds.count("token") >= 2, kinds  # and its words reached the client as they came
    assert final["abstained"] or final["citations"]
