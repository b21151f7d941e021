"""A client that leaves a stream stops the generation: a real uvicorn server over HTTP, real Chroma and
MiniLM over the seed, and a model that writes one token every 20 ms and records where it was stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

from index.embedding import Embedder
from index.ingest import ingest_articles
from index.loaders import load_file
from service.components import build_components, build_engine
from service.http.app import create_app
from service.llm.gate import GenerationGate
from tests.conftest import SEED_PATH
from tests.e2e.servers import free_port
from tests.service.conftest import api_settings

TOKENS = 500
PACE_S = 0.02


class PacedLLM(CustomLLM):
    """Streams "word word ..." at a steady pace; ``produced`` counts the tokens it got to write."""

    produced: int = 0
    finished: threading.Event = threading.Event()

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="paced")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="The Financial Times reviewed the memo [1].")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        self.produced = 0
        self.finished.clear()
        text = ""
        try:
            for _ in range(TOKENS):
                time.sleep(PACE_S)
                self.produced += 1
                text += " word"
                yield CompletionResponse(text=text, delta=" word")
        finally:
            self.finished.set()


@dataclass
class Server:
    base: str
    llm: PacedLLM
    gate: GenerationGate


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, restore_torch_threads: None
) -> Iterator[Server]:
    settings = api_settings(tmp_path_factory.mktemp("stream-data"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
        components = build_components(settings)
    ingest_articles(list(load_file(Path(SEED_PATH))), components.store, components.embedder, components.chunking)
    llm = PacedLLM()
    app = create_app(settings, engine=build_engine(components, llm=llm))
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield Server(f"http://127.0.0.1:{port}", llm, app.state.citewire.responder.gate)
    uv.should_exit = True
    thread.join(10)


def test_a_client_that_leaves_stops_the_generation(server: Server) -> None:
    base, llm = server.base, server.llm
    payload = {"question": "Who reviewed the White House memo?", "stream": True}
    with httpx.stream("POST", f"{base}/v1/query", json=payload, timeout=30) as response:
        assert response.status_code == 200
        seen = 0
        lines = response.iter_lines()  # kept: leaving a bare `for` closes httpx's generator, and the connection
        for line in lines:
            seen += line.startswith("event: token")
            if seen >= 5:
                break
        assert httpx.get(f"{base}/healthz", timeout=5).json()["generating"] == 1
    left = time.monotonic()
    assert llm.finished.wait(5), "the model kept generating for a client that had left"
    assert time.monotonic() - left < 2
    assert llm.produced < TOKENS / 2  # stopped early, not run to the end (~10 s)
    deadline = time.monotonic() + 5
    while httpx.get(f"{base}/healthz", timeout=5).json()["generating"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert httpx.get(f"{base}/healthz", timeout=5).json()["generating"] == 0  # the slot is free again


def test_an_answer_that_runs_past_its_deadline_is_stopped(server: Server) -> None:
    question = {"question": "Who reviewed the White House memo?"}
    server.gate.timeout_s = 0.5
    try:
        streamed = httpx.post(f"{server.base}/v1/query", json={**question, "stream": True}, timeout=30)
        assert streamed.status_code == 200
        assert "event: error" in streamed.text and "longer than 0.5 s" in streamed.text
        assert server.llm.produced < TOKENS / 2
        plain = httpx.post(f"{server.base}/v1/query", json=question, timeout=30)
        assert plain.status_code == 504
        assert "longer than 0.5 s" in plain.json()["detail"]
    finally:
        server.gate.timeout_s = 180
