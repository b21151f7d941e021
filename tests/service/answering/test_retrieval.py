"""Tests for service.answering.retrieval's reciprocal rank fusion (the hybrid retriever runs in test_hybrid.py)."""

from __future__ import annotations

from datetime import date

import pytest

from index.filters import ArticleFilter
from service.answering.retrieval import fused_scores, order_by, recency_bonus, reciprocal_rank_fusion, wants_recent


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


def test_rrf_weights_scale_each_rankings_say() -> None:
    rankings = [[0, 1], [1, 0]]
    assert reciprocal_rank_fusion(rankings, 2, weights=[1.0, 2.0])[0] == 1
    assert reciprocal_rank_fusion(rankings, 2, weights=[2.0, 1.0])[0] == 0
    assert reciprocal_rank_fusion(rankings, 2, weights=[1.0, 0.0]) == [0, 1]  # a zero weight silences a ranking


def test_rrf_needs_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[0], [0]], 1, weights=[1.0])


@pytest.mark.parametrize(
    ("question", "recent"),
    [
        ("What is the latest on the Ford recall?", True),
        ("Which automaker recalled 2.9 million vehicles this week?", True),
        ("Who resigned yesterday?", True),
        ("Who won the 2019 Tour de France?", False),  # dated: recency must not pull it elsewhere
        ("What happened this week in 2022?", False),
        ("Which automaker recalled 2.9 million vehicles?", False),
        ("Who holds the record?", False),
    ],
)
def test_wants_recent(question: str, recent: bool) -> None:
    assert wants_recent(question) is recent


def test_a_question_asked_as_of_a_day_wants_recent_news_unless_it_names_another_year() -> None:
    day = ArticleFilter(as_of=date(2022, 6, 16))
    assert wants_recent("Which automaker recalled 2.9 million vehicles?", day)
    assert wants_recent("Which team won the 2022 NHL Stanley Cup Finals?", day)  # that day's own year
    assert not wants_recent("Which automaker recalled 2.9 million vehicles in 2021?", day)
    assert not wants_recent("Who won in 2021 and in 2022?", day)
    assert not wants_recent("What is the latest on the 2022 recall?")  # no day given: a year dates it
    assert not wants_recent("Which automaker recalled 2.9 million vehicles?", ArticleFilter(source="cnn.com"))


def test_recency_bonus_halves_per_half_life_from_the_newest_and_is_zero_undated() -> None:
    bonus = recency_bonus(["2022-06-15T00:00:00", "2022-06-08", None, "2022-06-01", "not a date"], 7.0)
    assert bonus == [1.0, 0.5, 0.0, 0.25, 0.0]
    assert recency_bonus([None, None], 7.0) == [0.0, 0.0]


def test_fused_scores_and_order_by_agree_with_rrf() -> None:
    rankings = [[2, 0, 1], [0, 1, 2]]
    scores = fused_scores(rankings, 3)
    assert scores[0] == pytest.approx(1 / 62 + 1 / 61)
    assert order_by(scores, rankings[0]) == reciprocal_rank_fusion(rankings, 3)
