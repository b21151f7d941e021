"""Tests for service.context: diversity across articles and merging of overlapping chunks."""

from __future__ import annotations

from index.articles import Article
from index.store import StoredArticle
from service.context import assemble
from service.engine import Passage

TEXT_A = "Alpha one. Alpha two. Alpha three. Alpha four. Alpha five. Alpha six."
TEXT_B = "Beta holds the answer. Beta adds more."
A = StoredArticle(Article(id="a", title="A", text=TEXT_A), version="v1", chunk_count=3, ingested_at="")
B = StoredArticle(Article(id="b", title="B", text=TEXT_B), version="v1", chunk_count=1, ingested_at="")


def _p(stored: StoredArticle, start: int, end: int, score: float, n: int) -> Passage:
    text = stored.article.text[start:end]
    return Passage(
        article=stored, chunk_id=f"{stored.article.id}::v1::{n:05d}", start=start, end=end, text=text, score=score
    )


def test_at_most_max_per_article_then_other_articles_get_in() -> None:
    ranked = [_p(A, 0, 10, 0.9, 0), _p(A, 22, 34, 0.8, 2), _p(A, 47, 58, 0.7, 4), _p(B, 0, 22, 0.6, 0)]
    chosen = assemble(ranked, k=3, max_per_article=2)
    assert [c.chunk_id for c in chosen] == ["a::v1::00000", "a::v1::00002", "b::v1::00000"]


def test_overlapping_chunks_of_one_article_merge_into_one_passage_of_its_text() -> None:
    first, overlapping = _p(A, 0, 22, 0.5, 0), _p(A, 11, 34, 0.9, 1)
    (merged,) = assemble([first, overlapping], k=4, max_per_article=2)
    assert (merged.start, merged.end) == (0, 34)
    assert merged.text == TEXT_A[0:34]
    assert merged.chunk_id == "a::v1::00000"  # the better-ranked chunk's id
    assert merged.score == 0.9


def test_touching_chunks_merge_but_separate_ones_do_not() -> None:
    touching = assemble([_p(A, 0, 10, 0.9, 0), _p(A, 10, 22, 0.8, 1)], k=4, max_per_article=2)
    assert [(p.start, p.end) for p in touching] == [(0, 22)]
    apart = assemble([_p(A, 0, 10, 0.9, 0), _p(A, 22, 34, 0.8, 2)], k=4, max_per_article=2)
    assert [(p.start, p.end) for p in apart] == [(0, 10), (22, 34)]


def test_a_merge_does_not_use_up_a_slot() -> None:
    ranked = [_p(A, 0, 22, 0.9, 0), _p(A, 11, 34, 0.8, 1), _p(B, 0, 22, 0.7, 0)]
    assert [p.article.article.id for p in assemble(ranked, k=2, max_per_article=1)] == ["a", "b"]


def test_k_limits_and_order_is_kept() -> None:
    ranked = [_p(B, 0, 22, 0.9, 0), _p(A, 0, 10, 0.8, 0), _p(A, 47, 58, 0.7, 4)]
    assert [p.chunk_id for p in assemble(ranked, k=2, max_per_article=2)] == ["b::v1::00000", "a::v1::00000"]
    assert assemble([], k=3, max_per_article=2) == []


def test_free_slots_go_to_the_skipped_chunks_when_no_other_article_is_left() -> None:
    ranked = [_p(A, 0, 10, 0.9, 0), _p(A, 22, 34, 0.8, 2), _p(A, 47, 58, 0.7, 4)]
    assert [p.start for p in assemble(ranked, k=3, max_per_article=1)] == [0, 22, 47]
