"""A store holding the seed article, and the evidence engine over it with a given LLM."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.llms import LLM, MockLLM

from index.embedding import Embedder
from index.ingest import ingest_articles
from index.loaders import load_file
from service.answering.evidence_engine import EvidenceEngine
from service.components import Components, build_components, build_engine
from service.settings import Settings
from tests.conftest import SEED_PATH


def seed_components(data_dir: Path, embedder: Embedder, **settings: object) -> Components:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
        components = build_components(Settings(**{"data_dir": data_dir, "answerer": "evidence", **settings}))  # type: ignore[arg-type]
    ingest_articles([next(load_file(SEED_PATH))], components.store, components.embedder, components.chunking)
    return components


def evidence_engine(components: Components, llm: LLM) -> EvidenceEngine:
    engine = build_engine(components, llm=llm)
    assert isinstance(engine, EvidenceEngine)
    return engine


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Components:
    return seed_components(tmp_path_factory.mktemp("seed"), embedder)


@pytest.fixture(scope="module")
def seed_engine(seed_store: Components) -> EvidenceEngine:
    return evidence_engine(seed_store, MockLLM())
