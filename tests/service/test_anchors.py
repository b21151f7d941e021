"""Tests for service.anchors: an answer to a question naming a year must cite an article of that year."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Article
from index.embedding import Embedder
from service.anchors import names_another_year, question_years, speaks_of_year


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("Who won the women's singles at Wimbledon in 2018?", {"2018"}),
        ("Who won the 2021-2022 NBA championship?", {"2021", "2022"}),
        ("Who won the 2021-22 Premier League?", {"2021", "2022"}),  # a season names both its years
        ("Who won the 1999/2000 league?", {"1999", "2000"}),
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


@pytest.mark.parametrize(
    ("question", "answer", "another"),
    [
        ("Who won the British Open in 2020?", "Hinako Shibuno won the 2019 Women's British Open.", True),
        ("Who won the British Open in 2020?", "Shane Lowry won the Open in 2019, and no Open was held in 2020.", False),
        ("Who won the British Open in 2020?", "Shane Lowry won it.", False),  # names no year: nothing to say
        ("Who won the British Open?", "Hinako Shibuno won the 2019 Women's British Open.", False),
        ("Who won the 2021-22 Premier League?", "Manchester City won the 2022 title.", False),
        ("Who won the Premier League in 2020?", "Liverpool won the 2019-20 Premier League.", False),
    ],
)
def test_names_another_year(question: str, answer: str, another: bool) -> None:
    assert names_another_year(question, answer) is another


SHIBUNO = Article(
    id="open-2019",
    title="Shibuno wins the Women's British Open",
    text="Hinako Shibuno of Japan won the 2019 Women's British Open golf tournament at Woburn. "
    "The 2020 tournament will be played at Royal Troon in August.",
    source="Example Wire",
    published_at="2019-08-04T18:00:00",
)


def test_an_answer_naming_another_year_abstains(tmp_path: Path, embedder: Embedder) -> None:
    """The cited article mentions 2020, so only the answer's own "2019" shows it answers another year."""
    from index.ingest import ChunkingPolicy, ingest_articles
    from service.components import build_components, build_engine
    from service.settings import Settings
    from tests.service.fakes import ScriptedLLM

    components = build_components(Settings(data_dir=tmp_path))
    ingest_articles([SHIBUNO], components.store, embedder, ChunkingPolicy(128, 32))
    llm = ScriptedLLM()
    engine = build_engine(components, llm=llm)
    llm.script("Hinako Shibuno of Japan won the 2019 Women's British Open golf tournament [1].")
    assert engine.answer("Who won the Women's British Open golf tournament in 2020?").abstained
    assert llm.calls == 1  # the model did answer; the check refused it
    llm.script("Hinako Shibuno of Japan won the 2019 Women's British Open golf tournament [1].")
    kept = engine.answer("Who won the Women's British Open golf tournament in 2019?")
    assert not kept.abstained and "Shibuno" in kept.text
