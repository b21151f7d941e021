"""Tests for service.evaluation.dataset: questions JSONL parsing, errors with line numbers, hold-out."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from service.evaluation.dataset import (
    EvalQuestion,
    Holdout,
    QuestionFormatError,
    answer_bearing,
    holdout,
    load_questions,
    question_from_record,
)

EVAL_DIR = Path(__file__).resolve().parents[4] / "shared" / "eval"


def _write(tmp_path: Path, *lines: Any) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def _q(qid: str, gold: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": qid, "question": f"Question {qid}?", "answer": "A", "evidence": [{"article_id": g} for g in gold]} | (
        extra
    )


def test_loads_fields_and_ignores_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _q("q1", ["a1", "a2", "a1"], choices=["x", "A"], answer_index=[1], nota_variant={"choices": []}, type="mc"),
        "",
        {"id": 7, "question": " Free text? ", "answer": ["Tampa", "Tampa, Florida"]},
    )
    first, second = load_questions(path)
    assert first == EvalQuestion("q1", "Question q1?", "A", ["a1", "a2"], ["x", "A"], [1])
    assert second.id == "7" and second.question == "Free text?"
    assert second.answers == ["Tampa", "Tampa, Florida"]
    assert second.gold_article_ids == [] and second.choices is None and second.answer_index is None


@pytest.mark.parametrize("raw", ["2022/06/16", "2022-06-16", "2022-06-16T09:00:00"])
def test_a_question_date_is_the_day_it_was_asked(raw: str) -> None:
    assert question_from_record(_q("q", ["a"], question_date=raw)).as_of == date(2022, 6, 16)
    assert question_from_record(_q("q", ["a"])).as_of is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"id": "x", "answer": "A"}, "'question'"),
        ({"id": "", "question": "Q?", "answer": "A"}, "'id'"),
        ({"id": "x", "question": "Q?", "answer": 3}, "'answer'"),
        ({"id": "x", "question": "Q?", "answer": "A", "evidence": [{"quote": "no id"}]}, "article_id"),
        ({"id": "x", "question": "Q?", "answer": "A", "choices": ["a"], "answer_index": [1]}, "out of range"),
        ({"id": "x", "question": "Q?", "answer": "A", "answer_index": [0]}, "needs 'choices'"),
        ({"id": "x", "question": "Q?", "answer": "A", "question_date": "June 2022"}, "'question_date'"),
    ],
)
def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path, bad: Any, message: str) -> None:
    path = _write(tmp_path, _q("ok", ["a"]), bad)
    with pytest.raises(QuestionFormatError) as info:
        load_questions(path)
    assert f"{path}:2:" in str(info.value)
    assert message in str(info.value)


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, _q("q1", ["a"]), _q("q2", ["b"]), _q("q1", ["c"]))
    with pytest.raises(QuestionFormatError, match=r":3: duplicate id 'q1' \(first on line 1\)"):
        load_questions(path)


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(QuestionFormatError, match="no such file"):
        load_questions(tmp_path / "absent.jsonl")


def _questions() -> list[EvalQuestion]:
    return [
        EvalQuestion("q1", "?", "A", ["a1"]),
        EvalQuestion("q2", "?", "A", ["a2", "a3"]),
        EvalQuestion("q3", "?", "A", ["a1"]),  # shares q1's only gold article
        EvalQuestion("q4", "?", "A", ["a3", "a4"]),  # shares one of q2's two
        EvalQuestion("q5", "?", "A", []),  # no gold: never held out, never expects abstention
    ]


def test_holdout_is_seeded_and_marks_every_question_left_without_gold() -> None:
    questions = _questions()
    first = holdout(questions, 0.5, seed=3)
    assert first == holdout(questions, 0.5, seed=3)
    assert len({holdout(questions, 0.5, seed=s).drop_article_ids for s in range(20)}) > 1  # the seed matters
    for seed in range(20):
        drop, expect = holdout(questions, 0.5, seed=seed)
        assert "q5" not in expect
        for q in questions:
            all_dropped = bool(q.gold_article_ids) and set(q.gold_article_ids) <= drop
            assert (q.id in expect) == all_dropped


def test_holdout_of_q1_also_makes_q3_unanswerable_but_not_q4_from_q2() -> None:
    questions = _questions()
    for seed in range(50):
        drop, expect = holdout(questions, 0.25, seed=seed)  # round(0.25 * 4) = 1 question
        if drop == {"a1"}:
            assert expect == {"q1", "q3"}
        if drop == {"a2", "a3"}:
            assert expect == {"q2"}  # q4 still has a4


def test_holdout_counts_and_bounds() -> None:
    questions = _questions()
    assert holdout(questions, 0.0, seed=0) == (frozenset(), frozenset())
    assert holdout(questions, 0.01, seed=0).expect_abstain  # a positive fraction holds out at least one
    drop, expect = holdout(questions, 1.0, seed=0)
    assert drop == {"a1", "a2", "a3", "a4"}
    assert expect == {"q1", "q2", "q3", "q4"}
    with pytest.raises(ValueError, match="between 0 and 1"):
        holdout(questions, 1.5, seed=0)


def test_answer_bearing_articles_are_other_copies_of_a_held_out_story() -> None:
    questions = [
        EvalQuestion("held", "Which continent will require a common phone charger?", "Europe", ["gold-held"]),
        EvalQuestion("asked", "Who won the French Open?", ["Rafael Nadal", "Nadal"], ["gold-asked"]),
        EvalQuestion("tiny", "How many charger ports will phones need?", "6", ["gold-tiny"]),
    ]
    held = Holdout(frozenset({"gold-held", "gold-tiny"}), frozenset({"held", "tiny"}))
    articles = [
        ("gold-held", "Europe will require a common charger."),  # already dropped
        ("other-outlet", "A common phone charger: EUROPE, on Tuesday, said it will require one."),  # a copy
        ("gold-asked", "Nadal won the French Open. Europe cheered."),  # gold of a question still asked: kept
        ("european", "European regulators want a common phone charger."),  # the demonym states it too
        ("europeana", "Europeana wants a common phone charger for its archive."),  # another word
        ("numbers", "Phones will need 6 charger ports."),  # "6" normalises to one character: too common
        ("unrelated", "Nadal won again."),  # the answer of a question still asked
        ("off-topic", "Europe had a warm summer and record tourism."),  # names the answer, another story
    ]
    assert answer_bearing(articles, questions, held) == {"other-outlet", "european"}
    assert answer_bearing(articles, questions, held, depth=0) == set()


def test_answer_bearing_finds_a_day_without_its_year_and_a_surname() -> None:
    """RGB's held-out questions stayed answerable from snippets printing "Nov. 12" or just "Nadal"."""
    questions = [
        EvalQuestion("date", "When does season 17 of the drama premiere?", ["November 12 2020"], ["g1"]),
        EvalQuestion("who", "Who finished 2019 as the year-end number one?", ["Rafael Nadal"], ["g2"]),
        EvalQuestion("what", "What house did the president move into?", ["White House"], ["g3"]),
    ]
    held = Holdout(frozenset({"g1", "g2", "g3"}), frozenset({"date", "who", "what"}))
    articles = [
        ("abbreviated", "The drama returns for season 17 on Thursday, Nov. 12 at 9/8c."),
        ("ordinal", "Season 17 of the drama will premiere on 12th November."),
        ("other-day", "Season 17 of the drama will premiere on November 19."),
        ("surname", "Nadal is the fifth player to finish the year as number one."),
        ("other-name", "Djokovic finished 2019 as the year-end number two."),
        ("house", "The president did not move into the house on the hill."),  # "what", not "who": no surname rule
    ]
    assert answer_bearing(articles, questions, held) == {"abbreviated", "ordinal", "surname"}


@pytest.mark.parametrize(("name", "count"), [("realtimeqa", 196), ("rgb_en_fact", 100)])
def test_the_shared_eval_sets_load(name: str, count: int) -> None:
    path = EVAL_DIR / name / "questions.jsonl"
    if not path.is_file():
        pytest.skip(f"evaluation data not found at {path} (it lives outside the repo, in ../shared/eval)")
    questions = load_questions(path)
    assert len(questions) == count
    assert all(q.gold_article_ids for q in questions)
    if name == "realtimeqa":
        assert all(q.choices and q.answer_index for q in questions)


def test_answers_stored_as_a_json_encoded_nested_list_are_flattened() -> None:
    record = {"id": "r", "question": "When?", "answer": '[["May 15 2012", "May 15, 2012", "May 15 2012"]]'}
    assert question_from_record(record).answers == ["May 15 2012", "May 15, 2012"]


def test_split_puts_the_first_half_of_ids_in_tune_comparing_numbers_as_numbers() -> None:
    from service.evaluation.dataset import split_questions

    questions = [question_from_record({"id": f"rgbfact-{i}", "question": "q", "answer": "a"}) for i in range(100)]
    tune = {q.id for q in split_questions(questions, "tune")}
    check = {q.id for q in split_questions(questions, "check")}
    assert tune == {f"rgbfact-{i}" for i in range(50)}
    assert check == {f"rgbfact-{i}" for i in range(50, 100)}
