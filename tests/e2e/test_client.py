"""``citewire.client`` and ``citewire.retriever`` against a real ``citewire serve`` (the tiny model, MiniLM,
Chroma on disk) seeded with the seed article: every method, blocking and async, and the errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine

from citewire.client import AsyncCitewire, Citewire, CitewireError
from citewire.retriever import CitewireRetriever
from citewire.schemas import ArticleDetail, Filters
from tests.e2e.servers import seeded_server

SEED_ID = "000_070c77320a5da855"
QUESTION = "Which company did the White House accuse of passing data to the Chinese authorities?"
CLAIM = "The White House accused Alibaba of passing data to the Chinese authorities."
# These tests are about the client: the tiny model, short answers, no second opinion per sentence, and
# one llama.cpp thread (measured on a busy 2-core machine: 14 s an answer, against 40 s with two threads).
ENV = {
    "CITEWIRE_LLM_MODEL": "tiny",
    "CITEWIRE_MAX_ANSWER_TOKENS": "48",
    "CITEWIRE_JUDGE_CLAIMS": "false",
    "CITEWIRE_LLM_THREADS": "1",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("client-data"), ENV) as base:
        yield base


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[Citewire]:
    with Citewire(server, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def seed(client: Citewire) -> ArticleDetail:
    return client.article(SEED_ID)


def test_search_finds_spans_of_the_article(client: Citewire, seed: ArticleDetail) -> None:
    found = client.search(QUESTION, top_k=2)
    assert 1 <= len(found.hits) <= 2 and [h.rank for h in found.hits] == list(range(1, len(found.hits) + 1))
    for hit in found.hits:
        assert hit.article_id == SEED_ID and hit.text == seed.text[hit.start : hit.end]
    assert client.search(QUESTION, filters=Filters(source="nowhere.example")).hits == []
    assert client.search(QUESTION, filters={"source": seed.source}).hits


def test_ask_answers_with_citations_into_the_article(client: Citewire, seed: ArticleDetail) -> None:
    answer = client.ask(QUESTION, top_k=2)
    assert answer.timings_ms.total > 0 and answer.answer
    for citation in answer.citations:  # the tiny model may abstain; whatever it cites must be exact
        assert citation.article_id == SEED_ID and citation.quote == seed.text[citation.start : citation.end]


def test_check_labels_each_claim_with_spans_of_the_article(client: Citewire, seed: ArticleDetail) -> None:
    text = f"{CLAIM} The memo was reviewed by the Financial Times."
    checked = client.check(text)
    assert [c.text for c in checked.claims] == [text[c.start : c.end] for c in checked.claims]
    assert len(checked.claims) == 2 and checked.claims[0].text == CLAIM
    assert checked.supported + checked.contradicted + checked.unmentioned == 2 and 0 <= checked.score <= 1
    spans = [s for c in checked.claims for s in c.supporting + c.contradicting]
    assert all(s.article_id == SEED_ID and s.quote == seed.text[s.start : s.end] for s in spans)
    nothing = client.check(CLAIM, filters={"source": "nowhere.example"}).claims[0]
    assert nothing.label == "unmentioned" and nothing.supporting == nothing.contradicting == []


def test_a_passage_quotes_the_article_text_at_its_offsets(client: Citewire, seed: ArticleDetail) -> None:
    hit = client.search(QUESTION, top_k=1).hits[0]
    passage = client.passage(SEED_ID, hit.start, hit.end, context=40)
    assert passage.quote == seed.text[hit.start : hit.end] == hit.text
    assert passage.context == seed.text[passage.context_start : passage.context_end]
    assert passage.context[passage.highlight_start : passage.highlight_end] == passage.quote


def test_articles_lists_and_filters(client: Citewire, seed: ArticleDetail) -> None:
    page = client.articles()
    assert page.total == 1 and [a.id for a in page.articles] == [SEED_ID]
    assert page.articles[0].chunk_count == seed.chunk_count > 0
    assert client.articles(source="nowhere.example").total == 0
    assert client.articles(offset=1).articles == []


def test_errors_carry_the_status_and_the_server_s_detail(client: Citewire) -> None:
    with pytest.raises(CitewireError) as missing:
        client.passage("no-such-article", 0, 10)
    assert missing.value.status_code == 404 and "no-such-article" in str(missing.value.detail)
    with pytest.raises(CitewireError) as blank:
        client.ask("   ")
    assert blank.value.status_code == 422
    assert [p["loc"] for p in blank.value.detail] == [["body", "question"]]
    with pytest.raises(CitewireError) as bad_filter:
        client.search(QUESTION, filters={"published_after": "2024-02-30"})
    assert bad_filter.value.status_code == 422 and "calendar date" in str(bad_filter.value.detail)


def test_the_async_client_does_the_same(server: str, seed: ArticleDetail) -> None:
    async def run() -> None:
        async with AsyncCitewire(server, timeout=120) as client:
            found, answer, page = await asyncio.gather(
                client.search(QUESTION, top_k=1), client.ask(QUESTION, top_k=2), client.articles(limit=5)
            )
            hit = found.hits[0]
            assert (await client.passage(SEED_ID, hit.start, hit.end)).quote == seed.text[hit.start : hit.end]
            assert all(c.quote == seed.text[c.start : c.end] for c in answer.citations)
            assert page.total == 1 and page.limit == 5
            assert (await client.article(SEED_ID)).text == seed.text
            with pytest.raises(CitewireError) as missing:
                await client.article("no-such-article")
            assert missing.value.status_code == 404

    asyncio.run(run())


def test_the_retriever_gives_nodes_that_are_article_spans(client: Citewire, seed: ArticleDetail) -> None:
    retriever = CitewireRetriever(client, top_k=2)
    nodes = retriever.retrieve(QUESTION)
    assert 1 <= len(nodes) <= 2
    for found in nodes:
        meta = found.node.metadata
        assert meta["article_id"] == SEED_ID and found.node.ref_doc_id == SEED_ID
        assert found.node.get_content() == seed.text[meta["start"] : meta["end"]]
        assert found.score is not None and 0 < found.score <= 1
    again = asyncio.run(retriever.aretrieve(QUESTION))
    assert [n.node.node_id for n in again] == [n.node.node_id for n in nodes]


def test_the_retriever_serves_a_stock_llamaindex_query_engine(client: Citewire, seed: ArticleDetail) -> None:
    """MockLLM echoes its prompt: the answer shows the passages reached the model, the source nodes cite them."""
    engine = RetrieverQueryEngine.from_args(CitewireRetriever(client, top_k=1), llm=MockLLM())
    response = engine.query(QUESTION)
    (source,) = response.source_nodes
    assert source.node.get_content() == seed.text[source.node.metadata["start"] : source.node.metadata["end"]]
    assert source.node.get_content() in str(response)
    assert "bm25" not in str(response)  # the offsets and scores stay out of the model's prompt
