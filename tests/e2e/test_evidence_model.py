"""The evidence engine with the real default model, the real embedders and real on-disk stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.llms import LLM

from index.articles import Article
from index.embedding import Embedder
from index.ingest import ingest_articles
from index.loaders import load_file
from service.answering.evidence_engine import EvidenceEngine
from service.answering.types import Answer
from service.answering.verifier import Verifier
from service.components import Components, build_components
from service.llm.backends import build_llm
from service.settings import Settings
from tests.conftest import SEED_PATH
from tests.service.answering.conftest import evidence_engine, seed_components

pytestmark = pytest.mark.slow

CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
CHINESE_ARTICLE = Article(
    id="zh-bridge",
    title="新大桥通车",
    source="测试日报",
    published_at="2025-06-01T08:00:00",
    text="连接两岸的新大桥于周六正式通车。大桥全长十二公里，建设用时五年。"
    "市长在通车仪式上表示，大桥将使两岸之间的行车时间从一小时缩短到十五分钟。"
    "当地居民对此表示欢迎。",
)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLM]:
    yield build_llm(Settings())


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, llm: LLM) -> EvidenceEngine:
    components = seed_components(tmp_path_factory.mktemp("seed-model"), embedder, answer_cache_size=0)
    return evidence_engine(components, llm)


def _quotes_exact(answer: Answer) -> None:
    assert answer.citations
    for c in answer.citations:
        assert c.passage.article.article.text[c.start : c.end] == c.quote
        assert c.end - c.start < len(c.passage.article.article.text)  # a sentence, never the whole article


# Known gaps, kept as strict expected failures so they flag the day they pass (docs/EVALUATION.md): the
# sentence naming the Financial Times scores below the budget's cut (it is about the PLA; the memo is
# named in the sentence before it), and the model declines; the model answers a Chinese question in
# English; it declines the Russian question from English evidence.
SELECTION_MISSES_FT = pytest.mark.xfail(strict=True, reason="the FT sentence is not among the evidence shown")


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("Which newspaper reviewed the White House memo?", marks=SELECTION_MISSES_FT),
        pytest.param("Which newspaper reviewed the White House memo about Alibaba?", marks=SELECTION_MISSES_FT),
    ],
)
def test_seed_questions_are_answered_with_exact_sentence_citations(engine: EvidenceEngine, question: str) -> None:
    answer = engine.answer(question)
    assert not answer.abstained, answer.sentences
    assert "Financial Times" in answer.text or "FT" in answer.text
    _quotes_exact(answer)
    assert all(s.score is not None for s in answer.sentences)


def test_a_question_the_article_does_not_answer_is_declined(engine: EvidenceEngine) -> None:
    assert engine.answer("Who won the 2018 World Cup final?").abstained


def test_the_verifier_rejects_a_negated_claim_and_accepts_the_stated_one(llm: LLM) -> None:
    from service.answering.model import answer_model

    verifier = Verifier(answer_model(llm))
    evidence = ["The Financial Times reviewed the White House memo on Alibaba before it was published."]
    stated = verifier.support("The Financial Times reviewed the White House memo.", evidence)
    negated = verifier.support("The Financial Times did not review the White House memo.", evidence)
    assert stated.score >= Settings().min_support > negated.score
    assert negated.score < stated.score


def test_answers_do_not_depend_on_what_was_asked_before(engine: EvidenceEngine) -> None:
    questions = [  # two are enough to change what the model's context held before each
        "What does the report say Alibaba gave the Chinese military access to?",
        "What is Alibaba's AI model called?",
    ]
    forward = {q: engine.answer(q).text for q in questions}
    backward = {q: engine.answer(q).text for q in reversed(questions)}
    assert forward == backward


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> Components:
    """The seed and a Chinese article in a multilingual-e5 store: questions in any language find them."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("e5"), embed_model="e5-multilingual", answerer="evidence", answer_cache_size=0
    )
    components = build_components(settings)
    articles = [next(load_file(SEED_PATH)), CHINESE_ARTICLE]
    ingest_articles(articles, components.store, components.embedder, components.chunking)
    return components


@pytest.mark.xfail(
    strict=True, reason="the model echoes the Russian question instead of answering it; the verifier drops the echo"
)
def test_a_russian_question_gets_a_russian_answer_with_exact_spans(multilingual: Components, llm: LLM) -> None:
    engine = evidence_engine(multilingual, llm)
    answer = engine.answer("Какая газета ознакомилась с меморандумом Белого дома об Alibaba?")
    assert not answer.abstained, answer.sentences
    assert CYRILLIC & set(answer.text.lower()), answer.text
    _quotes_exact(answer)


def test_a_chinese_article_is_answered_in_chinese(multilingual: Components, llm: LLM) -> None:
    answer = evidence_engine(multilingual, llm).answer("新大桥有多长？")
    assert not answer.abstained, answer.sentences
    assert "十二公里" in answer.text or "12" in answer.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.text.replace("十二公里", ""))
    _quotes_exact(answer)
    assert any("十二公里" in c.quote for c in answer.citations)


def test_a_wrong_citation_is_moved_to_the_sentence_that_states_the_claim(engine: EvidenceEngine) -> None:
    from service.answering.claims import Claim
    from service.answering.evidence import EvidenceSentence

    passages = engine.find_passages("Who did Donald Trump meet in South Korea?", 8)
    article = passages[0].article.article
    wanted = ["President Donald Trump met with Chinese President Xi Jinping", "Chinese Huawei has already been"]
    evidence = []
    for n, needle in enumerate(wanted, start=1):
        start = article.text.index(needle)
        start = article.text.rfind(". ", 0, start) + 2 if article.text.rfind(". ", 0, start) > 0 else start
        end = article.text.index(".", article.text.index(needle)) + 1
        evidence.append(EvidenceSentence(n, passages[0], start, end, article.text[start:end], 1.0))
    claim = Claim("Donald Trump met Xi Jinping in South Korea.", (2,))  # cites the Huawei sentence
    _, cited, support = engine._verified(claim, evidence)
    assert cited == [1]
    assert support.score >= engine.min_support
