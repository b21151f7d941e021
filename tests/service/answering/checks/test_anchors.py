"""checks/anchors: an answer to a question naming a year must cite an article of that year."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Article
from index.embedding import Embedder
from service.answering.checks.anchors import names_another_year, question_years, speaks_of_year, year_first


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


def test_a_year_after_since_is_not_what_the_text_is_about() -> None:
    question = "Who won the women's singles Wimbledon in 2018?"
    page_2022 = "Jul 9, 2022 ... Elena Rybakina won the women's singles final ... the first since 2018 to ..."
    assert not speaks_of_year(question, [page_2022])
    assert year_first(question, [page_2022, "Kerber won in 2018."], str)[0] == "Kerber won in 2018."
    assert not names_another_year("Who is the CEO of Apple in 2021?", "Tim Cook has been CEO of Apple since 2011.")


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
        # the question's event with another year before it, though the answer also says "in 2020"
        ("Who won the British Open in 2020?", "Hinako Shibuno won the 2019 Women's British Open in 2020.", True),
        ("Which city hosted the olympic games in 2008?", "Beijing hosted the 2008 Summer Olympics.", False),
        ("Who is the CEO of Apple in 2021?", "Tim Cook, CEO in 2021, spoke at the 2019 WWDC keynote.", False),
    ],
)
def test_names_another_year(question: str, answer: str, another: bool) -> None:
    assert names_another_year(question, answer) is another


def test_year_first_moves_texts_naming_the_year_ahead_and_keeps_the_rest() -> None:
    texts = ["Rybakina won the 2022 final.", "Kerber beat Serena Williams.", "Kerber won Wimbledon in 2018."]
    assert year_first("Who won Wimbledon in 2018?", texts, str) == [texts[2], texts[0], texts[1]]
    assert year_first("Who won Wimbledon?", texts, str) == texts  # no year named: order untouched
    assert year_first("Who won in 2021-22?", ["It was 2022.", "It was 2020."], str) == ["It was 2022.", "It was 2020."]


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


WIMBLEDON = [
    Article(
        id=f"wimbledon-{year}",
        title=f"Wimbledon women's singles final: {winner} wins the title",
        text=f"{winner} beat {runner_up} in the {year} Wimbledon women's singles final on Centre Court. "
        f"It was {winner}'s first Wimbledon title.",
        source="Example Wire",
    )
    for year, winner, runner_up in [("2022", "Elena Rybakina", "Ons Jabeur"), ("2018", "Angelique Kerber", "Serena")]
]


@pytest.mark.parametrize("years_first", [True, False])
def test_a_question_naming_a_year_sees_that_years_article_first(
    tmp_path: Path, embedder: Embedder, years_first: bool
) -> None:
    """Real store, real retrievers: the 2022 report ranks first for the question; the 2018 one is shown first."""
    from index.ingest import ChunkingPolicy, ingest_articles
    from service.components import build_components, build_engine
    from service.settings import Settings
    from tests.service.fakes import ScriptedLLM

    components = build_components(Settings(data_dir=tmp_path, years_first=years_first))
    ingest_articles(WIMBLEDON, components.store, embedder, ChunkingPolicy(128, 32))
    engine = build_engine(components, llm=ScriptedLLM())
    question = "Which player won the Wimbledon women's singles final, Elena Rybakina's first title, in 2018?"
    first = engine.find_passages(question, top_k=2)[0].article.article.id
    assert first == ("wimbledon-2018" if years_first else "wimbledon-2022")


def test_a_year_among_the_options_is_no_anchor(tmp_path: Path, embedder: Embedder) -> None:
    """The options go to retrieval with the question, but only the question's own years reorder it."""
    from index.ingest import ChunkingPolicy, ingest_articles
    from service.answering.rules_engine import with_choices
    from service.components import build_components, build_engine
    from service.settings import Settings
    from tests.service.fakes import ScriptedLLM

    components = build_components(Settings(data_dir=tmp_path))
    ingest_articles(WIMBLEDON, components.store, embedder, ChunkingPolicy(128, 32))
    engine = build_engine(components, llm=ScriptedLLM())
    question = "Which player won the Wimbledon women's singles final, Elena Rybakina's first title?"
    asked = with_choices(question, ["2018", "2019"])

    def first(**kwargs: str) -> str:
        return engine.find_passages(asked, top_k=2, **kwargs)[0].article.article.id

    assert first(anchor=question) == "wimbledon-2022"  # as retrieved: the question names no year
    assert first() == "wimbledon-2018"  # the options' years, had they counted
