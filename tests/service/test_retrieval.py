"""Tests for service.retrieval: BM25 over the candidates, reciprocal rank fusion and rank_by."""

from __future__ import annotations

import pytest

from service.retrieval import lexical_scores, rank_by, reciprocal_rank_fusion

TEXTS = [
    "The Financial Times reviewed the White House memo.",
    "Rain fell over Paris on Tuesday afternoon.",
    "A memo was sent to staff.",
]


def test_text_with_the_querys_words_scores_above_zero_and_unrelated_text_zero() -> None:
    scores = lexical_scores("Which newspaper reviewed the memo?", TEXTS)
    assert len(scores) == len(TEXTS)
    assert scores[0] > 0
    assert scores[1] == 0.0
    assert scores[2] > 0
    assert scores[0] > scores[2]  # it matches "reviewed" as well as "memo"


def test_words_are_stemmed() -> None:
    scores = lexical_scores("reviewing memos", ["The FT reviewed the memo.", "Nothing related here."])
    assert scores[0] > 0
    assert scores[1] == 0.0


def test_matching_ignores_case() -> None:
    assert lexical_scores("FINANCIAL TIMES", TEXTS)[0] == pytest.approx(lexical_scores("financial times", TEXTS)[0])


def test_no_texts_gives_no_scores() -> None:
    assert lexical_scores("memo", []) == []


@pytest.mark.parametrize("query", ["", "   ", "the and of", "zebra quantum"])
def test_query_without_known_words_scores_all_zero(query: str) -> None:
    assert lexical_scores(query, TEXTS) == [0.0, 0.0, 0.0]


def test_rrf_orders_by_summed_reciprocal_rank() -> None:
    # Item 0 is second and first; item 2 first and last; item 1 last and second.
    assert reciprocal_rank_fusion([[2, 0, 1], [0, 1, 2]], 3) == [0, 2, 1]


def test_rrf_item_in_both_rankings_beats_item_in_one() -> None:
    assert reciprocal_rank_fusion([[1], [0, 1]], 2) == [1, 0]


def test_rrf_tie_goes_to_the_first_rankings_favourite() -> None:
    # 1 and 0 swap places between the rankings, so their fused scores are equal.
    assert reciprocal_rank_fusion([[1, 0], [0, 1]], 2) == [1, 0]
    assert reciprocal_rank_fusion([[0, 1], [1, 0]], 2) == [0, 1]


def test_rrf_tie_outside_the_first_ranking_goes_to_the_lower_index() -> None:
    assert reciprocal_rank_fusion([[], [2, 1, 0]], 3) == [2, 1, 0]
    assert reciprocal_rank_fusion([[3], []], 4) == [3, 0, 1, 2]


def test_rrf_without_rankings_keeps_index_order() -> None:
    assert reciprocal_rank_fusion([], 3) == [0, 1, 2]
    assert reciprocal_rank_fusion([[]], 0) == []


def test_rrf_smaller_k_favours_top_ranks_more() -> None:
    # With a large k ranks barely matter and the item in both rankings wins; with k=0 the single first place wins.
    rankings = [[0, 1], [2, 1]]
    assert reciprocal_rank_fusion(rankings, 3, k=60)[0] == 1
    assert reciprocal_rank_fusion(rankings, 3, k=0)[0] == 0


def test_rank_by_orders_best_first_and_drops_zeros() -> None:
    assert rank_by([0.0, 2.0, 1.0, 0.0, 3.5]) == [4, 1, 2]


def test_rank_by_drops_negative_scores_and_handles_empty_input() -> None:
    assert rank_by([-1.0, 0.5]) == [1]
    assert rank_by([]) == []
    assert rank_by([0.0, 0.0]) == []


def test_rank_by_keeps_index_order_on_ties() -> None:
    assert rank_by([1.0, 2.0, 1.0]) == [1, 0, 2]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("texts", [["To be or not to be."], ["It is.", "A b c"], [""]])
def test_texts_without_indexable_words_score_zero(texts: list[str]) -> None:
    assert lexical_scores("memo", texts) == [0.0] * len(texts)
