"""Tests for service.anchors: an answer to a question naming a year must cite an article of that year."""

from __future__ import annotations

import pytest

from service.anchors import question_years, speaks_of_year


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("Who won the women's singles at Wimbledon in 2018?", {"2018"}),
        ("Who won the 2021-2022 NBA championship?", {"2021", "2022"}),
        ("Who won the 2021-22 Premier League?", {"2021"}),
        ("When was Ocarina of Time released?", set()),
        ("What was popular in the 2010s?", set()),  # a decade is no anchor
        ("How many people live in the 3000-person town?", set()),
    ],
)
def test_question_years(question: str, years: set[str]) -> None:
    assert question_years(question) == years


def test_evidence_about_another_year_does_not_speak_of_it() -> None:
    question = "Who won the women's singles at Wimbledon in 2018?"
    assert not speaks_of_year(question, ["Elena Rybakina won the 2022 Wimbledon final against Ons Jabeur."])
    assert speaks_of_year(question, ["Angelique Kerber won Wimbledon in 2018.", "Rybakina won in 2022."])


def test_one_of_several_years_is_enough() -> None:
    assert speaks_of_year("Who won the 2021-2022 NBA title?", ["The Warriors won the 2022 NBA Finals."])


def test_a_question_without_a_year_needs_nothing() -> None:
    assert speaks_of_year("Who won Wimbledon?", ["Rybakina won the final."])
    assert speaks_of_year("Who won Wimbledon?", [])


def test_a_year_inside_a_longer_number_does_not_count() -> None:
    assert not speaks_of_year("What happened in 2018?", ["Order number 120185 shipped."])
