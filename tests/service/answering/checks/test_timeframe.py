"""checks/timeframe: a question about this week, asked as of a day, is not answered from old news."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.articles import Article
from index.embedding import Embedder
from index.filters import ArticleFilter
from service.answering.checks.timeframe import speaks_of_this_week, within_window


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Afghanistan was rocked by a powerful earthquake this week. How strong was it?", True),
        ("What NFL star announced his retirement on Tuesday?", True),
        ("Which island nation plunged into chaos in recent days?", True),
        ("Who won the vote last weekend?", True),
        ("What did the president sign yesterday?", True),
        ("Who won the 2022 vote on Tuesday?", False),  # the year says when
        ("What is the latest on the river flood?", False),  # the latest news may be months old
        ("Which company did Elon Musk agree to buy?", False),
        ("Who plays on Sunday Night Football this season?", False),
    ],
)
def test_speaks_of_this_week(question: str, expected: bool) -> None:
    assert speaks_of_this_week(question) is expected


DAYS = {"new": "2022-06-22T08:00:00", "edge": "2022-06-14", "old": "2015-10-26", "undated": None}


@pytest.mark.parametrize(
    ("question", "as_of", "window", "kept"),
    [
        ("How strong was this week's earthquake?", date(2022, 6, 24), 10, ["new", "edge", "undated"]),
        ("How strong was this week's earthquake?", date(2022, 6, 24), 9, ["new", "undated"]),
        ("How strong was this week's earthquake?", None, 10, list(DAYS)),  # the day is unknown
        ("How strong was this week's earthquake?", date(2022, 6, 24), 0, list(DAYS)),  # turned off
        ("How strong was the earthquake?", date(2022, 6, 24), 10, list(DAYS)),  # not about this week
    ],
)
def test_within_window(question: str, as_of: date | None, window: int, kept: list[str]) -> None:
    assert within_window(question, as_of, window, DAYS, DAYS.get) == kept


QUAKES = [
    Article(
        id="quake-2015",
        title="Powerful earthquake rocks Afghanistan",
        text="A magnitude 7.5 earthquake rocked northern Afghanistan on Monday, killing more than 300 people.",
        source="Example Wire",
        published_at="2015-10-26",
    ),
    Article(
        id="quake-2022",
        title="Powerful earthquake rocks Afghanistan",
        text="A magnitude 5.9 earthquake rocked eastern Afghanistan on Wednesday, killing more than 1,000 people.",
        source="Example Wire",
        published_at="2022-06-22",
    ),
]
QUESTION = "Afghanistan was rocked by a powerful earthquake this week. What was its magnitude?"


def test_old_news_does_not_answer_a_question_about_this_week(tmp_path: Path, embedder: Embedder) -> None:
    """Real store, real MiniLM: with this week's report gone, the 2015 quake never reaches the model."""
    from index.ingest import ChunkingPolicy, ingest_articles
    from service.components import build_components, build_engine
    from service.settings import Settings
    from tests.service.fakes import ScriptedLLM

    components = build_components(Settings(data_dir=tmp_path))
    ingest_articles(QUAKES, components.store, embedder, ChunkingPolicy(128, 32))
    llm = ScriptedLLM()
    engine = build_engine(components, llm=llm)
    asked = ArticleFilter(as_of=date(2022, 6, 24))
    assert {p.article.article.id for p in engine.find_passages(QUESTION, 4, asked)} == {"quake-2022"}

    components.store.delete("quake-2022")
    llm.script("The earthquake had a magnitude of 7.5 [1].")
    answer = engine.answer(QUESTION, 4, asked)
    assert answer.abstained and llm.calls == 0  # nothing of this week left: no call to the model
    assert {p.article.article.id for p in engine.find_passages(QUESTION, 4)} == {"quake-2015"}  # no day: kept
