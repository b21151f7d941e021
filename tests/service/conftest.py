"""Fixtures for the service tests: a clean CITEWIRE_ environment and the session embedder reused by the CLI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from index.articles import Article
from index.embedding import Embedder
from index.ingest import ingest_articles
from index.loaders import load_file
from service.components import build_components, build_engine
from service.http.app import create_app
from service.settings import Settings
from tests.conftest import SEED_PATH
from tests.service.fakes import ScriptedLLM


@pytest.fixture(autouse=True)
def _no_citewire_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the CITEWIRE_ variables they set themselves."""
    for key in list(os.environ):
        if key.upper().startswith("CITEWIRE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def reuse_embedder(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> Embedder:
    """Make build_components hand out the already loaded session embedder instead of loading another."""
    monkeypatch.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
    return embedder


@pytest.fixture
def seed_dir(tmp_path: Path, seed_path: Path) -> Path:
    """A folder holding only the seed article (a copy, so new files in seeds/ do not change counts)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(seed_path, folder / seed_path.name)
    return folder


@pytest.fixture(scope="module")
def restore_torch_threads() -> Iterator[None]:
    """The app's lifespan pins torch to one thread for serving; give later tests their threads back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@dataclass
class Api:
    client: TestClient
    llm: ScriptedLLM
    article: Article
    chunk_count: int


def api_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, top_k=4, min_relevance=0.2, max_question_chars=2000)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, restore_torch_threads: None) -> Iterator[Api]:
    settings = api_settings(tmp_path_factory.mktemp("api-data"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
        components = build_components(settings)
    article = next(load_file(SEED_PATH))
    report = ingest_articles([article], components.store, components.embedder, components.chunking)
    llm = ScriptedLLM()
    engine = build_engine(components, llm=llm)
    app = create_app(settings, engine=engine, components=components)
    with TestClient(app, raise_server_exceptions=False) as client:
        authorize(client)
        yield Api(client=client, llm=llm, article=article, chunk_count=report.chunks_written)


def authorize(client: TestClient) -> TestClient:
    """Send the server's API key (generated into its data dir) with every request of ``client``."""
    key = client.app.state.citewire.api_key.get_secret_value()  # type: ignore[attr-defined]
    client.headers["Authorization"] = f"Bearer {key}"
    return client
