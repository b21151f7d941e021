"""Tests for service.evaluation.metrics: each metric on hand-made cases chosen so a plausible bug fails."""

from __future__ import annotations

from typing import Any

import pytest

from service.evaluation.metrics import (
    abstention_scores,
    best_f1,
    choose_option,
    citation_precision,
    citation_recall,
    contains_answer,
    hit_at_k,
    normalize_answer,
    percentile,
    ranked_articles,
    reciprocal_rank,
    score_question,
    summarise,
    token_f1,
)

# --- answers ------------------------------------------------------------------------------


def test_normalisation_is_squad_style() -> None:
    assert normalize_answer("  The Eiffel-Tower, in   PARIS!  ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("“Theory” — an idea…") == "theory idea"


def test_number_words_compare_as_digits() -> None:
    assert normalize_answer("Six months, not twenty or forty") == "6 months not 20 or 40"
    assert contains_answer("Her detention was extended for six months [1].", ["6"])
    assert contains_answer("He won 12 titles.", ["Twelve"])
    assert not contains_answer("Someone won.", ["1"])  # "someone" is not a number word


def test_a_two_word_name_counts_in_either_order() -> None:
    assert contains_answer("Liu Yifei stars as Mulan [1].", ["Yifei Liu"])  # family name first
    assert not contains_answer("Liu Wei stars as Mulan [1].", ["Yifei Liu"])
    assert not contains_answer("It cost 2 million.", ["million 2"])  # only names of two words
    assert choose_option("Extended for six months [1].", ["3", "6", "9", "12"]) == 1


def test_token_f1_ignores_citation_markers_and_counts_overlap() -> None:
    assert token_f1("Tampa, Florida [1].", "Tampa, Florida") == 1.0
    # 4 answer tokens (not 6: the markers are gone), 1 shared: p = 1/4, r = 1/2.
    assert token_f1("It was in Tampa [1, 2]", "Tampa Florida") == pytest.approx(1 / 3)
    assert token_f1("", "Tampa") == 0.0
    assert token_f1("Orlando", "Tampa") == 0.0


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # "new new york" vs "new york": common = min counts = 2 tokens; p = 2/3, r = 1.
    assert token_f1("new new york", "new york") == pytest.approx(0.8)


def test_best_f1_takes_the_best_gold() -> None:
    assert best_f1("Norway", ["U.S.", "Norway"]) == 1.0
    assert best_f1("Norway", []) == 0.0


def test_containment_is_on_word_boundaries_after_normalisation() -> None:
    assert contains_answer("The answer is Europe [2].", ["Europe"])
    assert contains_answer("Ban on military-style assault weapons.", ["ban on Military-Style assault weapons"])
    assert not contains_answer("Asian markets fell.", ["Asia"])
    assert not contains_answer("Anything at all", ["The"])  # normalises to nothing: never "contained"
    assert contains_answer("Facebook bought it", ["Meta", "Facebook"])


def test_choose_option_takes_the_unique_best_choice() -> None:
    choices = ["Europe", "North America", "Asia", "Africa"]
    assert choose_option("Europe will require USB-C.", choices) == 0
    assert choose_option("Not in Africa but in North America", ["North America", "Africa"]) == 0
    assert choose_option("Europe or Asia", choices) is None  # tie
    assert choose_option("Nobody knows", choices) is None  # no overlap at all
    assert choose_option("Europe", []) is None


# --- retrieval ----------------------------------------------------------------------------


def test_ranking_is_deduplicated_by_article_keeping_the_first_rank() -> None:
    assert ranked_articles(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


def test_hit_at_k_counts_distinct_articles() -> None:
    ranked = ["a", "a", "b", "c", "d", "e", "g", "g"]  # g is the 6th distinct article but 7th chunk
    assert hit_at_k(ranked, ["g"], 5) is False
    assert hit_at_k(ranked, ["g"], 10) is True
    assert hit_at_k(ranked, ["a"], 1) is True
    assert hit_at_k(ranked, ["z", "c"], 3) is True  # any gold article counts
    assert hit_at_k(ranked, [], 5) is None


def test_reciprocal_rank_within_ten_distinct_articles() -> None:
    ranked = ["a", "a", "b", "c", "d", "e", "g"]
    assert reciprocal_rank(ranked, ["g"]) == pytest.approx(1 / 6)
    assert reciprocal_rank(ranked, ["b", "g"]) == pytest.approx(1 / 2)
    eleventh = [f"x{i}" for i in range(10)] + ["g"]
    assert reciprocal_rank(eleventh, ["g"]) == 0.0
    assert reciprocal_rank(ranked, []) is None


# --- citations ----------------------------------------------------------------------------


def test_citation_precision_counts_every_citation() -> None:
    assert citation_precision(["g", "g", "x"], ["g"]) == pytest.approx(2 / 3)  # not 1/2 (per article)
    assert citation_precision([], ["g"]) is None
    assert citation_precision(["g"], []) is None


def test_citation_recall_is_share_of_gold_articles_cited() -> None:
    assert citation_recall(["g", "g", "x"], ["g", "h"]) == 0.5
    assert citation_recall([], ["g"]) == 0.0
    assert citation_recall(["g"], []) is None


# --- abstention ---------------------------------------------------------------------------


def test_abstention_scores_with_every_outcome() -> None:
    # (expect_abstain, abstained): TP, FN, FP, TN, TN
    scores = abstention_scores([(True, True), (True, False), (False, True), (False, False), (False, False)])
    assert scores == {
        "abstain_precision": 0.5,
        "abstain_recall": 0.5,
        "abstain_f1": 0.5,
        "abstained_when_answerable": pytest.approx(1 / 3),
        "answered_when_unanswerable": 0.5,
    }


def test_abstention_f1_is_zero_when_it_never_abstains_but_should() -> None:
    scores = abstention_scores([(True, False), (False, False)])
    assert scores["abstain_precision"] is None
    assert scores["abstain_recall"] == 0.0
    assert scores["abstain_f1"] == 0.0
    assert scores["answered_when_unanswerable"] == 1.0
    assert scores["abstained_when_answerable"] == 0.0


def test_abstention_scores_without_cases_are_none() -> None:
    assert set(abstention_scores([]).values()) == {None}
    only_answerable = abstention_scores([(False, False)])
    assert only_answerable["abstain_recall"] is None
    assert only_answerable["answered_when_unanswerable"] is None


# --- latency ------------------------------------------------------------------------------


def test_percentile_is_linear_and_none_when_empty() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


# --- per question and summary -------------------------------------------------------------


def _scores(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "answer": "Europe [1].",
        "abstained": False,
        "cited_article_ids": ["g"],
        "ranked_article_ids": ["x", "g"],
        "context_article_ids": ["x"],
        "gold_answers": ["Europe"],
        "gold_article_ids": ["g"],
        "choices": ["Europe", "Asia"],
        "answer_index": [0],
        "expect_abstain": False,
    }
    args.update(overrides)
    return score_question(**args)


def test_score_question_on_an_answered_question() -> None:
    s = _scores()
    assert (s["hit@1"], s["hit@5"], s["rr@10"]) == (False, True, 0.5)
    assert s["gold_in_context"] is False  # ranked second, but the model was shown only "x"
    assert (s["answer_contains"], s["answer_f1"]) == (True, 1.0)
    assert (s["mc_chosen"], s["mc_correct"]) == (0, True)
    assert (s["citation_precision"], s["citation_recall"]) == (1.0, 1.0)
    assert s["abstention_correct"] is True


def test_abstaining_on_an_answerable_question_scores_as_wrong() -> None:
    s = _scores(abstained=True, answer="The indexed articles don't answer this question.", cited_article_ids=[])
    assert (s["answer_contains"], s["answer_f1"], s["mc_chosen"], s["mc_correct"]) == (False, 0.0, None, False)
    assert s["citation_precision"] is None and s["citation_recall"] is None
    assert s["abstention_correct"] is False


def test_expected_abstention_leaves_answer_retrieval_and_citation_metrics_out() -> None:
    s = _scores(expect_abstain=True, abstained=True, cited_article_ids=[])
    assert all(s[k] is None for k in ("hit@1", "rr@10", "answer_contains", "answer_f1", "mc_correct"))
    assert s["citation_precision"] is None
    assert s["abstention_correct"] is True


def test_free_text_question_has_no_multiple_choice_score() -> None:
    s = _scores(choices=None, answer_index=None)
    assert s["mc_chosen"] is None and s["mc_correct"] is None


def test_summarise_empty_run_gives_none_not_errors() -> None:
    summary = summarise([])
    assert summary["n_questions"] == 0
    assert summary["retrieval_hit@1"] is None
    assert summary["answer_f1"] is None
    assert summary["abstain_f1"] is None
    assert summary["latency_total_p50_ms"] is None
    assert summary["quote_mismatches"] == 0


def _result(scores: dict[str, Any], *, abstained: bool, expect: bool, total: float, generate: float) -> dict[str, Any]:
    return {
        "abstained": abstained,
        "citations": [{"n": 1}] if not abstained else [],
        "gold": {"expect_abstain": expect},
        "scores": scores,
        "timings_ms": {"retrieve": 10.0, "generate": generate, "total": total},
    }


def test_summarise_aggregates_over_applicable_questions() -> None:
    answered = _scores()
    wrong = _scores(answer="Asia [1].", cited_article_ids=["x"], ranked_article_ids=["x"])
    held_out = _scores(expect_abstain=True, abstained=True, cited_article_ids=[])
    held_out["quote_mismatches"] = 0
    answered["quote_mismatches"] = 1
    results = [
        _result(answered, abstained=False, expect=False, total=100.0, generate=90.0),
        _result(wrong, abstained=False, expect=False, total=300.0, generate=280.0),
        _result(held_out, abstained=True, expect=True, total=12.0, generate=0.0),
    ]
    s = summarise(results)
    assert (s["n_questions"], s["n_answerable"], s["n_unanswerable"], s["n_abstained"]) == (3, 2, 1, 1)
    assert s["retrieval_hit@5"] == 0.5 and s["n_retrieval"] == 2
    assert s["retrieval_mrr@10"] == 0.25  # (0.5 + 0) / 2
    assert s["answer_contains"] == 0.5
    assert s["mc_accuracy"] == 0.5
    assert s["citation_precision"] == 0.5
    assert s["abstain_f1"] == 1.0
    assert s["answered_when_unanswerable"] == 0.0
    assert s["quote_mismatches"] == 1
    assert s["citations"] == 2
    assert s["latency_total_p50_ms"] == 100.0
    assert s["latency_generate_p50_ms"] == 185.0  # the gated abstention (generate 0) is not a generation


def test_paired_bootstrap_interval_holds_the_difference_and_excludes_zero_only_when_clear() -> None:
    from service.evaluation.metrics import paired_bootstrap

    diff, lo, hi = paired_bootstrap([1.0] * 40 + [0.0] * 10, [0.0] * 40 + [1.0] * 10)
    assert diff == 0.6 and 0 < lo <= diff <= hi
    diff, lo, hi = paired_bootstrap([1.0, 0.0] * 25, [0.0, 1.0] * 25)
    assert diff == 0.0 and lo < 0 < hi


def test_paired_differences_compare_only_questions_both_engines_scored() -> None:
    from service.evaluation.metrics import paired_differences

    ours = [{"id": "a", "scores": {"answer_contains": True}}, {"id": "b", "scores": {"answer_contains": None}}]
    theirs = [{"id": "a", "scores": {"answer_contains": False}}, {"id": "b", "scores": {"answer_contains": True}}]
    n, diff, _, _ = paired_differences(ours, theirs)["answer_contains"]
    assert (n, diff) == (1, 1.0)


def test_a_citation_counts_when_its_article_is_gold_or_its_quote_states_the_answer() -> None:
    from service.evaluation.metrics import citation_precision

    cited = ["gold", "other-outlet", "unrelated"]
    quotes = ["...", "Europe will require one charger.", "Nothing to see."]
    assert citation_precision(cited, ["gold"], quotes, ["Europe"]) == 2 / 3
    assert citation_precision(cited, ["gold"]) == 1 / 3  # by article alone
