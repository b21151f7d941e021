"""Hybrid retrieval with real parts: on-disk Chroma, the saved BM25 index and the real MiniLM."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.articles import Article
from index.chroma import open_client
from index.embedding import Embedder
from index.filters import ArticleFilter
from index.ingest import ChunkingPolicy, ingest_articles
from index.store import ArticleStore
from service.answering.retrieval import FusionWeights, HybridRetriever, RetrievalMode
from service.settings import Settings

MAKERS = ["Volvo", "Ford", "Toyota", "Honda", "Kia", "Renault", "Fiat", "Skoda", "Mazda", "Subaru", "Nissan", "Opel"]
PARTS = [
    "brake sensor",
    "airbag inflator",
    "fuel pump",
    "seat belt",
    "steering column",
    "rear camera",
    "door latch",
    "wiper motor",
    "battery pack",
    "headlamp",
    "gear shifter",
    "tyre valve",
]
# Twelve near-identical recall stories that differ in maker, part and number of cars: to MiniLM they
# are one topic, so only the exact number in the question tells them apart.
RECALLS = [
    Article(
        id=f"recall-{i}",
        title=f"{maker} recalls cars",
        text=f"{maker} is recalling {(i * 7919) % 90000 + 10000:,} cars because of a faulty {part}, the company "
        "said on Tuesday. Owners will be contacted by letter and repairs are free.",
        source=f"wire-{i % 3}.example",
        published_at=f"2024-01-{i + 1:02d}T10:00:00",
        lang="en",
    )
    for i, (maker, part) in enumerate(zip(MAKERS, PARTS, strict=True))
]


def _question(article: Article) -> str:
    cars = article.text.split(" is recalling ")[1].split(" cars")[0]
    return f"Which carmaker is recalling {cars} cars?"


def _indexed(factory: pytest.TempPathFactory, embedder: Embedder, name: str, articles: list[Article]) -> ArticleStore:
    """A real on-disk store (Chroma + BM25) holding ``articles``."""
    root = factory.mktemp(name)
    store = ArticleStore(open_client(root / "chroma"), name, root / "bm25")
    ingest_articles(articles, store, embedder, ChunkingPolicy(128, 32))
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> ArticleStore:
    return _indexed(tmp_path_factory, embedder, "hybrid", RECALLS)


def _retriever(store: ArticleStore, embedder: Embedder, mode: RetrievalMode) -> HybridRetriever:
    from llama_index.core import VectorStoreIndex

    index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embedder.model)
    return HybridRetriever(index, store, embedder.model, mode, FusionWeights())


def _first(retriever: HybridRetriever, question: str) -> str:
    return str(retriever.candidates(question, 20)[0].node.metadata["article_id"])


def test_number_questions_that_dense_misses_hybrid_finds(store: ArticleStore, embedder: Embedder) -> None:
    dense = _retriever(store, embedder, "dense")
    hybrid = _retriever(store, embedder, "hybrid")
    dense_right = sum(_first(dense, _question(a)) == a.id for a in RECALLS)
    hybrid_right = sum(_first(hybrid, _question(a)) == a.id for a in RECALLS)
    assert hybrid_right == len(RECALLS)
    assert dense_right <= len(RECALLS) - 3  # measured: MiniLM puts the right story first for 6 of 12


def test_every_candidate_carries_its_cosine_and_bm25_score(store: ArticleStore, embedder: Embedder) -> None:
    question = _question(RECALLS[3])
    dense = {c.node.node_id: c.cosine for c in _retriever(store, embedder, "dense").candidates(question, 20)}
    found = _retriever(store, embedder, "hybrid").candidates(question, 20)
    assert found[0].bm25 > 0
    for candidate in found:  # BM25-only hits get their cosine from the stored vector: the same number
        assert candidate.cosine == pytest.approx(dense[candidate.node.node_id], abs=1e-4)


def test_sparse_mode_ranks_by_bm25_alone(store: ArticleStore, embedder: Embedder) -> None:
    found = _retriever(store, embedder, "sparse").candidates("faulty wiper motor", 5)
    assert found[0].node.metadata["article_id"] == "recall-7"
    assert [c.bm25 for c in found] == sorted((c.bm25 for c in found), reverse=True)


def test_bm25_weight_zero_leaves_the_dense_order(store: ArticleStore, embedder: Embedder) -> None:
    question = _question(RECALLS[0])
    dense = [c.node.node_id for c in _retriever(store, embedder, "dense").candidates(question, 12)]
    silenced = HybridRetriever(
        _retriever(store, embedder, "dense").index, store, embedder.model, "hybrid", FusionWeights(sparse=0.0)
    )
    assert [c.node.node_id for c in silenced.candidates(question, 12)][: len(dense)] == dense


def test_as_a_llamaindex_retriever_it_gives_the_fused_top_k(store: ArticleStore, embedder: Embedder) -> None:
    """``retrieve("...")`` is LlamaIndex's own entry point: the candidates' fused order, ``top_k`` of them."""
    from llama_index.core.schema import MetadataMode

    question = _question(RECALLS[4])
    retriever = _retriever(store, embedder, "hybrid")
    retriever.top_k = 3
    expected = retriever.candidates(question, 3)[:3]  # up to 3 from each of dense and BM25, fused
    found = retriever.retrieve(question)
    assert len(found) == 3
    assert [n.node.node_id for n in found] == [c.node.node_id for c in expected]
    assert [n.score for n in found] == [c.cosine for c in expected]
    assert [n.node.metadata["bm25"] for n in found] == [c.bm25 for c in expected]
    assert found[0].node.metadata["article_id"] == "recall-4" and found[0].node.metadata["bm25"] > 0
    assert "bm25" not in expected[0].node.metadata  # a copy carries it, not the candidate's node
    assert "bm25" not in found[0].node.get_content(metadata_mode=MetadataMode.LLM)


def test_it_serves_a_stock_llamaindex_query_engine(store: ArticleStore, embedder: Embedder) -> None:
    """In LlamaIndex's own RetrieverQueryEngine, with the filter and depth set on the retriever; MockLLM
    echoes its prompt, so the answer shows what the model was given."""
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    index = _retriever(store, embedder, "hybrid").index
    only = ArticleFilter(source="wire-1.example")
    retriever = HybridRetriever(index, store, embedder.model, top_k=2, where=only)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query("Which carmaker is recalling cars over a faulty part?")
    assert len(response.source_nodes) == 2
    texts = {a.id: a.text for a in RECALLS}
    for hit in response.source_nodes:
        meta = hit.node.metadata
        assert meta["source"] == "wire-1.example"
        assert hit.node.get_content() == texts[meta["article_id"]][meta["start"] : meta["end"]]
        assert hit.node.get_content() in str(response)


def test_the_engine_retrieves_hybrid_by_default(tmp_path: Path, embedder: Embedder) -> None:
    from service.components import build_components, build_engine
    from tests.service.fakes import ScriptedLLM

    settings = Settings(data_dir=tmp_path)
    components = build_components(settings)
    ingest_articles(RECALLS, components.store, embedder, ChunkingPolicy(128, 32))
    engine = build_engine(components, llm=ScriptedLLM())
    for article in RECALLS:
        assert engine.find_passages(_question(article), 1)[0].article.article.id == article.id


@pytest.mark.parametrize("mode", ["bm25", "", "Hybrid"])
def test_unknown_retrieval_mode_is_rejected(mode: str) -> None:
    with pytest.raises(ValueError):
        Settings(retrieval_mode=mode)  # type: ignore[arg-type]


FILTERS = [
    ArticleFilter(source="wire-1.example"),
    ArticleFilter(published_after=date(2024, 1, 4), published_before=date(2024, 1, 6)),
    ArticleFilter(article_ids=frozenset({"recall-2", "recall-9"})),
    ArticleFilter(source="wire-0.example", published_after=date(2024, 1, 5)),
]


def _allowed(where: ArticleFilter) -> set[str]:
    return {a.id for a in RECALLS if where.matches(a.id, a.source, a.published_at)}


@pytest.mark.parametrize("where", FILTERS)
@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_filters_restrict_every_retriever(
    store: ArticleStore, embedder: Embedder, mode: RetrievalMode, where: ArticleFilter
) -> None:
    allowed = _allowed(where)
    assert 0 < len(allowed) < len(RECALLS)
    found = _retriever(store, embedder, mode).candidates(
        "Which carmaker is recalling cars over a faulty part?", 20, where
    )
    ids = {str(c.node.metadata["article_id"]) for c in found}
    assert ids <= allowed
    if mode != "sparse":  # dense search fills k from inside the filter, not from what is left over
        assert ids == allowed


def test_a_filter_finds_the_right_article_the_unfiltered_search_ranks_lower(
    store: ArticleStore, embedder: Embedder
) -> None:
    hybrid = _retriever(store, embedder, "hybrid")
    only = ArticleFilter(article_ids=frozenset({"recall-5"}))
    found = hybrid.candidates("Which carmaker is recalling cars?", 5, only)
    assert [c.node.metadata["article_id"] for c in found] == ["recall-5"]


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_a_date_filter_finds_articles_dated_only_by_their_url(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, mode: RetrievalMode
) -> None:
    """Scraped feeds often give no date field; the URL's /YYYY/MM/DD/ still places the article in time."""
    import json

    from index.loaders import articles_from_bytes

    lines = [
        {"url": f"https://news.example/{day}/world/flood-{n}", "title": f"River floods town {n}", "text": text}
        for n, (day, text) in enumerate(
            [
                ("2022/06/14", "The river burst its banks on Tuesday and 200 homes were flooded, officials said."),
                ("2022/06/20", "The river rose again on Monday and 40 more homes were flooded, officials said."),
            ]
        )
    ]
    feed = "\n".join(json.dumps(line) for line in lines).encode()
    articles = list(articles_from_bytes("feed.jsonl", feed))
    assert [a.published_at for a in articles] == ["2022-06-14T00:00:00", "2022-06-20T00:00:00"]
    store = _indexed(tmp_path_factory, embedder, f"url-dates-{mode}", articles)
    where = ArticleFilter(published_after=date(2022, 6, 18))
    found = _retriever(store, embedder, mode).candidates("How many homes were flooded by the river?", 10, where)
    assert {c.node.metadata["article_id"] for c in found} == {articles[1].id}


def test_a_filter_nothing_matches_finds_nothing(store: ArticleStore, embedder: Embedder) -> None:
    where = ArticleFilter(source="nobody.example")
    assert _retriever(store, embedder, "hybrid").candidates("recall", 10, where) == []


def _flood(article_id: str, day: str, text: str) -> Article:
    return Article(id=article_id, title="River floods town", text=text, source="Example Wire", published_at=day)


FLOODS = [
    # The older report repeats the question's words more, so plain relevance ranks it first.
    _flood(
        "flood-old",
        "2024-03-01",
        "The river flooded the town centre. The river flood forced the town to close schools.",
    ),
    _flood("flood-new", "2024-03-20", "Water levels fell and the town reopened its schools after the flood."),
]


@pytest.fixture(scope="module")
def flood_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> ArticleStore:
    return _indexed(tmp_path_factory, embedder, "floods", FLOODS)


def _first_flood(store: ArticleStore, embedder: Embedder, question: str, recency: float) -> str:
    from llama_index.core import VectorStoreIndex

    index = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embedder.model)
    retriever = HybridRetriever(index, store, embedder.model, "hybrid", FusionWeights(recency=recency))
    return str(retriever.candidates(question, 10)[0].node.metadata["article_id"])


def test_latest_news_questions_prefer_the_newer_article(flood_store: ArticleStore, embedder: Embedder) -> None:
    plain = "What happened with the river flood and the town schools?"
    assert _first_flood(flood_store, embedder, plain, recency=0.5) == "flood-old"  # no recency asked for
    latest = "What is the latest on the river flood and the town schools?"
    assert _first_flood(flood_store, embedder, latest, recency=0.0) == "flood-old"  # recency off
    assert _first_flood(flood_store, embedder, latest, recency=0.5) == "flood-new"


def test_a_dated_question_is_not_pulled_to_recent_articles(flood_store: ArticleStore, embedder: Embedder) -> None:
    question = "What is the latest on the 2024 river flood and the town schools?"
    assert _first_flood(flood_store, embedder, question, recency=0.5) == "flood-old"


def test_recency_counts_back_from_the_question_s_as_of_day(flood_store: ArticleStore, embedder: Embedder) -> None:
    """Asked months after both reports, neither is "latest" news: relevance decides again."""
    retriever = _retriever(flood_store, embedder, "hybrid")  # the default recency weight
    latest = "What is the latest on the river flood and the town schools?"

    def first(as_of: date) -> str:
        return str(retriever.candidates(latest, 10, ArticleFilter(as_of=as_of))[0].node.metadata["article_id"])

    assert first(date(2024, 3, 21)) == "flood-new"
    assert first(date(2024, 9, 1)) == "flood-old"
    assert first(date(2024, 3, 10)) == "flood-old"  # the newer report did not exist yet


def test_a_question_asked_as_of_a_day_prefers_that_week_s_reporting_without_saying_so(
    flood_store: ArticleStore, embedder: Embedder
) -> None:
    """A question put on a given day is about the news around it: no "latest" is needed for the bonus,
    and naming that day's own year keeps it; naming another year removes it."""
    retriever = _retriever(flood_store, embedder, "hybrid")
    plain = "What happened with the river flood and the town schools?"

    def first(question: str, where: ArticleFilter | None) -> str:
        return str(retriever.candidates(question, 10, where)[0].node.metadata["article_id"])

    assert first(plain, None) == "flood-old"  # no day given: relevance alone
    assert first(plain, ArticleFilter(as_of=date(2024, 3, 21))) == "flood-new"
    this_year = "What happened with the 2024 river flood and the town schools?"
    assert first(this_year, ArticleFilter(as_of=date(2024, 3, 21))) == "flood-new"
    another_year = "What happened with the 2023 river flood and the town schools?"
    assert first(another_year, ArticleFilter(as_of=date(2024, 3, 21))) == "flood-old"


QUAKES = [
    Article(
        id="quake-before",
        title="Quake shakes the coast",
        text="A 5.9 quake shook the coast on Monday.",
        published_at="2022-06-13",
    ),
    Article(
        id="quake-after",
        title="Quake shakes the coast",
        text="A 7.5 quake shook the coast on Monday.",
        published_at="2022-06-20",
    ),
    Article(id="quake-undated", title="Quake shakes the coast", text="A 6.1 quake shook the coast on Monday."),
]


@pytest.fixture(scope="module")
def quake_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> ArticleStore:
    return _indexed(tmp_path_factory, embedder, "quakes", QUAKES)


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ArticleFilter(as_of=date(2022, 6, 16)), {"quake-before", "quake-undated"}),
        (ArticleFilter(published_before=date(2022, 6, 16)), {"quake-before"}),  # a date range needs a date
        (ArticleFilter(as_of=date(2022, 6, 30), published_after=date(2022, 6, 14)), {"quake-after"}),
    ],
)
def test_as_of_leaves_out_later_articles_but_keeps_undated_ones(
    quake_store: ArticleStore, embedder: Embedder, mode: RetrievalMode, where: ArticleFilter, expected: set[str]
) -> None:
    question = "How strong was the quake that shook the coast?"
    found = _retriever(quake_store, embedder, mode).candidates(question, 10, where)
    assert {c.node.metadata["article_id"] for c in found} == expected


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_date_bound_filtered_after_a_deeper_search_equals_chroma_s_filter(
    quake_store: ArticleStore, embedder: Embedder, n: int
) -> None:
    """The fast path for date-only filters (a deeper unfiltered search, filtered in Python) must give
    what Chroma's own filter gives, and fall back to it when too few pass."""
    from llama_index.core import QueryBundle

    retriever = _retriever(quake_store, embedder, "dense")
    question = "How strong was the quake that shook the coast?"
    bundle = QueryBundle(query_str=question, embedding=retriever.query_vector(question).tolist())
    where = ArticleFilter(as_of=date(2022, 6, 16))
    chroma = retriever.index.as_retriever(similarity_top_k=n, filters=where.metadata_filters()).retrieve(bundle)
    ours = retriever._dense_hits(bundle, n, where)
    assert [h.node.node_id for h in ours] == [h.node.node_id for h in chroma]
    assert len(ours) == min(n, 2)
