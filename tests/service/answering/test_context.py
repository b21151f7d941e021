"""Tests for service.answering.context: diversity across articles, merging of overlapping chunks, widening."""

from __future__ import annotations

from collections.abc import Sequence

from index.articles import Article
from index.records import StoredArticle
from service.answering.context import assemble, widen
from service.answering.types import Passage

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


class WordCounter:
    """One token per word: enough to check the budget arithmetic."""

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def token_ends(self, text: str) -> list[int]:
        raise NotImplementedError


def test_widen_adds_the_sentence_before_and_after() -> None:
    (wide,) = widen([_p(A, 22, 34, 0.9, 2)], WordCounter(), budget=100, sentences=1)
    assert (wide.start, wide.end) == (11, 46)
    assert wide.text == TEXT_A[11:46] == "Alpha two. Alpha three. Alpha four."
    (wider,) = widen([_p(A, 22, 34, 0.9, 2)], WordCounter(), budget=100, sentences=2)
    assert wider.text == TEXT_A[0:58]


def test_widen_spends_the_budget_on_the_best_passage_first() -> None:
    best, other = _p(A, 22, 34, 0.9, 2), _p(B, 0, 22, 0.8, 0)  # 2 + 4 words
    wide_a, same_b = widen([best, other], WordCounter(), budget=8, sentences=1)
    assert (wide_a.start, wide_a.end) == (11, 34)  # "Alpha two." fits; nothing else does
    assert same_b == other


def test_widen_never_grows_a_passage_into_another() -> None:
    chosen = widen([_p(A, 0, 10, 0.9, 0), _p(A, 22, 34, 0.8, 2)], WordCounter(), budget=100, sentences=1)
    assert [(p.start, p.end) for p in chosen] == [(0, 21), (22, 46)]


def test_widen_with_no_sentences_or_no_budget_changes_nothing() -> None:
    ranked = [_p(A, 22, 34, 0.9, 2)]
    assert widen(ranked, WordCounter(), budget=100, sentences=0) == ranked
    assert widen(ranked, WordCounter(), budget=2, sentences=3) == ranked
