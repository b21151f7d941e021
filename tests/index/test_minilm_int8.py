"""The int8 ONNX MiniLM (``minilm-int8``): its vectors, their agreement with fp32 MiniLM, and a real store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.articles import Article
from index.chunking import chunk_text
from index.embedding import MINILM_CALIBRATION, Embedder, EmbeddingModelError, load_embedder, vector_space
from index.ingest import ingest_articles
from index.loaders import load_file
from index.store import EmbedderMismatchError
from service.components import Components, build_components, build_engine, open_store
from service.settings import Settings
from tests.conftest import SEED_PATH
from tests.service.fakes import ScriptedLLM

SEED_ID = "000_070c77320a5da855"
# Measured on 256 RealTime QA news chunks of 128 tokens plus 50 questions: min 0.9987, mean 0.9994.
MIN_AGREEMENT = 0.995
OTHERS = [
    Article(id="cup-final", title="Underdogs lift the cup", text="The club won the cup final on Sunday after a "
            "penalty shoot-out. Fans celebrated in the city centre until late at night."),
    Article(id="rates", title="Central bank holds rates", text="The central bank left its key interest rate "
            "unchanged for a third month, saying inflation was slowing but wages were still rising fast."),
    Article(id="phone-launch", title="New phone goes on sale", text="A smartphone maker started selling its new "
            "flagship phone with a larger battery and a faster chip; prices start at 799 dollars."),
]  # fmt: skip


@pytest.fixture(scope="module")
def int8() -> Embedder:
    return load_embedder("minilm-int8", batch_size=8)


def _seed_chunks(embedder: Embedder) -> list[str]:
    text = SEED_PATH.read_text(encoding="utf-8")
    return [c.text for c in chunk_text(text, embedder.counter, max_tokens=128, overlap_tokens=32)]


def test_vectors_are_384_unit_vectors_in_the_order_given(int8: Embedder) -> None:
    texts = ["A much longer sentence about the central bank and its interest rates.", "Short.", ""]
    batch = np.asarray(int8.model.get_text_embedding_batch(texts))
    assert batch.shape == (3, 384) and int8.dim == 384
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    one_by_one = np.asarray([int8.model.get_text_embedding(t) for t in texts])  # no padding at all
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)  # padding and sorting change nothing


def test_it_agrees_with_fp32_minilm_on_news_chunks_and_questions(int8: Embedder, embedder: Embedder) -> None:
    texts = [*_seed_chunks(embedder), "Which Chinese company did the White House accuse?", "Who won the cup?"]
    fp32 = np.asarray(embedder.model.get_text_embedding_batch(texts))
    quantised = np.asarray(int8.model.get_text_embedding_batch(texts))
    agreement = np.sum(fp32 * quantised, axis=1)
    assert agreement.min() >= MIN_AGREEMENT
    query = "Which Chinese company did the White House accuse?"
    assert np.dot(embedder.model.get_query_embedding(query), int8.model.get_query_embedding(query)) >= MIN_AGREEMENT


def test_it_shares_minilm_tokens_limit_and_calibration(int8: Embedder, embedder: Embedder) -> None:
    assert _seed_chunks(int8) == _seed_chunks(embedder)  # the same chunks, so a store can be shared
    assert int8.max_seq_length == 256 and int8.calibration == MINILM_CALIBRATION
    assert vector_space("minilm-int8") == "minilm" and vector_space("e5-multilingual") == "e5-multilingual"


def test_text_beyond_256_word_pieces_is_cut_off(int8: Embedder) -> None:
    text = " ".join(f"word{i}" for i in range(400))
    ends = int8.counter.token_ends(text)
    head = text[: ends[253]]  # 254 word pieces plus [CLS] and [SEP]: exactly the model's window
    full, cut = (np.asarray(int8.model.get_text_embedding(t)) for t in (text, head))
    assert float(np.dot(full, cut)) > 0.99999  # one word piece fewer reads 0.99990


def test_threads_embedding_and_counting_at_once_get_the_serial_vectors(int8: Embedder) -> None:
    """Queries embed while an ingest job counts chunk tokens: neither may disturb the other's tokenizer."""
    texts = [f"Story {i} about the central bank " + "and its rates " * (i % 30) for i in range(16)]
    serial = np.asarray(int8.model.get_text_embedding_batch(texts))
    long_text = "word " * 2000

    def work(i: int) -> list[float] | None:
        if i % 2:
            int8.counter.count([long_text])
            return None
        return int8.model.get_query_embedding(texts[i % 16])

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(work, range(96)))
    for i, vector in enumerate(results):
        if vector is not None:
            assert float(np.dot(vector, serial[i % 16])) > 0.99999


def test_an_onnx_file_without_a_tokenizer_beside_it_is_a_clear_error(int8: Embedder, tmp_path: Path) -> None:
    lone = tmp_path / "model.onnx"
    lone.symlink_to(int8.path)
    with pytest.raises(EmbeddingModelError, match="no tokenizer"):
        load_embedder(str(lone))


@pytest.fixture(scope="module")
def int8_store(tmp_path_factory: pytest.TempPathFactory) -> Components:
    values: dict[str, Any] = {"data_dir": tmp_path_factory.mktemp("int8-data"), "embed_model": "minilm-int8"}
    components = build_components(Settings(**values))  # a dict: mypy runs without pydantic's plugin
    ingest_articles([next(load_file(SEED_PATH)), *OTHERS], components.store, components.embedder, components.chunking)
    return components


def _top_article(components: Components, question: str, mode: str) -> tuple[str, float, float]:
    settings = components.settings.model_copy(update={"retrieval_mode": mode})
    engine = build_engine(replace(components, settings=settings), llm=ScriptedLLM())
    best = engine.find_passages(question, top_k=3)[0]
    return best.article.article.id, best.score, engine.min_relevance


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_the_seed_question_finds_the_seed_article_in_an_int8_store(int8_store: Components, mode: str) -> None:
    article, score, gate = _top_article(int8_store, "Which company is accused of passing data to China's army?", mode)
    assert article == SEED_ID
    assert score >= gate  # on MiniLM's cosine scale, as the shared calibration assumes


def test_an_int8_store_is_a_minilm_store(int8_store: Components) -> None:
    """Recorded as MiniLM's: fp32 MiniLM may answer from it (and int8 from an fp32 store); E5 may not."""
    assert int8_store.store.chunks.metadata["citewire_embedder"] == "minilm"
    fp32 = build_components(int8_store.settings.model_copy(update={"embed_model": "minilm"}))
    article, score, gate = _top_article(fp32, "Which company is accused of passing data to China's army?", "dense")
    assert (article, score >= gate) == (SEED_ID, True)
    with pytest.raises(EmbedderMismatchError, match="minilm"):
        open_store(int8_store.settings.model_copy(update={"embed_model": "e5-multilingual"}))
