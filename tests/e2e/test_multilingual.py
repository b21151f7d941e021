"""Cross-lingual retrieval with real parts: the multilingual embedder, on-disk Chroma and BM25."""

from __future__ import annotations

from dataclasses import replace

import pytest

from index.articles import Article
from index.ingest import ingest_articles
from index.loaders import load_file
from index.store import EmbedderMismatchError
from service.answering.rules_engine import CitewireQueryEngine
from service.cli import main as cli_main
from service.components import Components, build_components, build_engine
from service.settings import Settings
from tests.conftest import SEED_PATH
from tests.service.fakes import ScriptedLLM

OTHERS = [
    Article(
        id="cup-final",
        title="Underdogs lift the cup",
        text="The club won the cup final on Sunday after a penalty shoot-out. Fans celebrated in the city "
        "centre until late at night, and the coach praised the goalkeeper.",
    ),
    Article(
        id="rates",
        title="Central bank holds rates",
        text="The central bank left its key interest rate unchanged for a third month, saying inflation "
        "was slowing but wages were still rising fast.",
    ),
    Article(
        id="wildfire",
        title="Wildfire forces evacuations",
        text="Thousands of residents were evacuated as a wildfire spread through dry forest near the coast. "
        "Firefighters expect cooler weather to help by Friday.",
    ),
    Article(
        id="phone-launch",
        title="New phone goes on sale",
        text="A smartphone maker started selling its new flagship phone with a larger battery and a faster "
        "chip; prices start at 799 dollars.",
    ),
]
# Russian questions about the seed's English paragraphs; none names anything in Latin letters.
QUESTIONS = [
    "Какую китайскую компанию Белый дом обвинил в передаче данных властям Китая?",
    "Кто, по данным меморандума, получал доступ к данным клиентов, включая IP-адреса?",
]


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> Components:
    settings = Settings(data_dir=tmp_path_factory.mktemp("e5-data"), embed_model="e5-multilingual")
    components = build_components(settings)
    ingest_articles([next(load_file(SEED_PATH)), *OTHERS], components.store, components.embedder, components.chunking)
    return components


def _engine(components: Components, mode: str) -> CitewireQueryEngine:
    settings = components.settings.model_copy(update={"retrieval_mode": mode})
    return build_engine(replace(components, settings=settings), llm=ScriptedLLM())


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_a_russian_question_finds_the_english_seed_article(multilingual: Components, question: str, mode: str) -> None:
    engine = _engine(multilingual, mode)
    passages = engine.find_passages(question, top_k=3)
    assert passages[0].article.article.id == "000_070c77320a5da855"
    assert passages[0].score >= engine.min_relevance  # it passes the relevance gate on the E5 scale


def test_an_unrelated_russian_question_stays_below_the_gate(multilingual: Components) -> None:
    engine = _engine(multilingual, "dense")
    passages = engine.find_passages("Какой рецепт у борща с фасолью?", top_k=3)
    assert max(p.score for p in passages) < engine.min_relevance


def test_a_store_refuses_an_embedder_other_than_its_own(
    multilingual: Components, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Settings(data_dir=multilingual.settings.data_dir, embed_model="minilm")
    with pytest.raises(EmbedderMismatchError, match="e5-multilingual"):
        build_components(other)
    code = cli_main(["ask", "--data-dir", str(other.data_dir), "Who was accused?"])
    assert code == 2
    assert "CITEWIRE_EMBED_MODEL=e5-multilingual" in capsys.readouterr().err


def test_the_seed_language_is_recorded(multilingual: Components) -> None:
    stored = multilingual.store.get("000_070c77320a5da855")
    assert stored is not None
    assert stored.article.lang == "en"  # the Russian lead is one line of an English article
