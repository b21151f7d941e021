"""/v1/query and /v1/search over a real Chroma store and the real MiniLM embedder, with a scripted LLM.

The app runs through TestClient as a context manager, so its lifespan runs as in production. Server
errors come back as responses (raise_server_exceptions=False): a 500 is a failed assertion, not a crash.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.articles import Article
from index.chunking import chunk_text, sentence_spans
from index.embedding import Embedder
from index.ingest import ingest_articles
from prompts import load_prompt
from service.components import build_components, build_engine
from service.http.app import create_app
from tests.service.conftest import Api, api_settings
from tests.service.fakes import ScriptedLLM
from tests.service.http.helpers import ABSTAIN_TEXT, ANSWERABLE, MARKER, UNRELATED, ask, assert_client_error

# --- answers --------------------------------------------------------------------------------


def _assert_citations_match_articles(client: TestClient, body: dict[str, Any]) -> None:
    markers = {int(n) for n in MARKER.findall(body["answer"])}
    numbers = [c["n"] for c in body["citations"]]
    assert markers, body["answer"]
    assert numbers == list(range(1, len(numbers) + 1))
    assert markers == set(numbers)
    for citation in body["citations"]:
        article = client.get(f"/v1/articles/{citation['article_id']}").json()
        assert citation["quote"] == article["text"][citation["start"] : citation["end"]]
        assert citation["title"] == article["title"]
        assert citation["chunk_id"].startswith(f"{citation['article_id']}::{article['version']}::")
        assert -1.0 <= citation["score"] <= 1.0


def test_answer_carries_markers_backed_by_exact_quotes(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1].")
    body = ask(client, ANSWERABLE)
    assert body["abstained"] is False
    assert "FT" in body["answer"]
    assert len(body["citations"]) == 1
    assert "FT" in body["citations"][0]["quote"]
    _assert_citations_match_articles(client, body)
    assert set(body["timings_ms"]) == {"retrieve", "generate", "verify", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["retrieve"] >= 0
    assert api.llm.calls == 1
    assert len(api.llm.judge_prompts) == 1  # the judge agreed at once: one extra call


def test_the_prompt_holds_numbered_sources_and_the_question(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1].")
    ask(client, ANSWERABLE)
    (prompt,) = api.llm.prompts
    assert ANSWERABLE in prompt
    assert "Source [1]:" in prompt
    assert load_prompt("answer_system") in prompt


def test_top_k_limits_the_sources_in_the_prompt(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1].")
    ask(client, ANSWERABLE, top_k=1)
    (prompt,) = api.llm.prompts
    assert "Source [1]:" in prompt
    assert "Source [2]:" not in prompt


def test_the_model_also_sees_the_sentences_around_its_passage(client: TestClient, api: Api, embedder: Embedder) -> None:
    api.llm.script("FT reviewed the memo [1].")
    body = ask(client, ANSWERABLE, top_k=1)
    (prompt,) = api.llm.prompts
    index = int(body["citations"][0]["chunk_id"].rsplit("::", 1)[1])
    text = api.article.text
    chunk = chunk_text(text, embedder.counter, 128, 32)[index]
    spans = sentence_spans(text)
    neighbours = [text[a:b] for a, b in spans if b <= chunk.start][-1:] + [
        text[a:b] for a, b in spans if a >= chunk.end
    ][:1]
    assert neighbours, "the chunk has no sentence around it"
    for sentence in neighbours:
        assert " ".join(sentence.split()) in prompt


def test_sentences_from_two_passages_get_two_citations(client: TestClient, api: Api) -> None:
    # No markers at all: each sentence must find the passage that holds its words.
    api.llm.script(
        "The White House memo appeared after Donald Trump met Xi Jinping in South Korea. "
        "FT notes that it cannot independently verify the information."
    )
    body = ask(client, ANSWERABLE)
    assert body["abstained"] is False
    assert re.fullmatch(r"The White House memo .* South Korea \[1\]\. .* the information \[2\]\.", body["answer"])
    first, second = body["citations"]
    assert "Xi Jinping" in first["quote"]
    assert "cannot independently verify" in second["quote"]
    assert first["chunk_id"] != second["chunk_id"]
    _assert_citations_match_articles(client, body)


def test_unrelated_question_abstains_without_calling_the_llm(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1].")  # would be cited if the model were asked
    body = ask(client, UNRELATED)
    assert body["abstained"] is True
    assert body["citations"] == []
    assert body["answer"] == ABSTAIN_TEXT
    assert api.llm.calls == 0
    assert body["timings_ms"]["generate"] == 0.0


@pytest.mark.parametrize("refusal", ["NOT IN SOURCES", "The sources do not mention it.", "", "   "])
def test_model_refusal_abstains(client: TestClient, api: Api, refusal: str) -> None:
    api.llm.script(refusal)
    body = ask(client, ANSWERABLE)
    assert api.llm.calls == 1
    assert body["abstained"] is True
    assert body["citations"] == []
    assert body["answer"] == ABSTAIN_TEXT


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("What is the name of Alibaba's chief executive?", "Alibaba's CEO is Jack Ma [1]."),
        ("What did the European Union decide about Alibaba?", "The European Union decided to blacklist Alibaba [1]."),
        ("How much revenue did Alibaba report?", "Revenue was $1.2 trillion [1]."),
    ],
)
def test_hallucinated_answer_abstains(client: TestClient, api: Api, question: str, reply: str) -> None:
    api.llm.script(reply)
    body = ask(client, question)
    assert api.llm.calls == 1  # the question passed the relevance gate; the answer was checked and refused
    assert body["abstained"] is True
    assert body["citations"] == []
    assert body["answer"] == ABSTAIN_TEXT


HOW_MANY = "How many Chinese companies did American politicians want shut out of US markets?"


def test_an_answer_without_the_amount_asked_for_abstains(client: TestClient, api: Api) -> None:
    """Backed by its passage and on the subject, but no amount: it does not answer "how many"."""
    api.llm.script("American politicians urged the White House to close access to markets for Chinese companies [1].")
    assert ask(client, HOW_MANY)["abstained"] is True
    api.llm.script(
        "American politicians urged the White House to close access to markets for 25 Chinese companies [1]."
    )
    body = ask(client, HOW_MANY)
    assert body["abstained"] is False
    assert "25" in body["citations"][0]["quote"]


def test_an_answer_naming_no_one_to_a_who_question_abstains(client: TestClient, api: Api) -> None:
    """Backed by its passage and on the subject, but "who?" is not answered without a name."""
    question = "Who reviewed the White House memo about Alibaba?"
    api.llm.script("The document from the White House was reviewed [1].")
    assert ask(client, question)["abstained"] is True
    api.llm.script("The Financial Times reviewed the memo [1].")
    assert ask(client, question)["abstained"] is False


def test_an_answer_from_an_article_of_another_year_abstains(client: TestClient, api: Api) -> None:
    """The sentence is true to the seed (November 2025), but the question asks about 2019."""
    api.llm.script("The Financial Times reviewed the memo [1].")
    assert ask(client, "Who reviewed the White House memo about Alibaba in 2019?")["abstained"] is True
    api.llm.script("The Financial Times reviewed the memo [1].")
    body = ask(client, "Who reviewed the White House memo about Alibaba in 2025?")
    assert body["abstained"] is False
    assert "Financial Times" in body["citations"][0]["quote"]


def test_unbacked_sentence_is_dropped_from_a_backed_answer(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1]. Alibaba's CEO is Jack Ma [1].")
    body = ask(client, ANSWERABLE)
    assert body["abstained"] is False
    assert "Jack Ma" not in body["answer"]
    assert "FT" in body["answer"]


def test_question_at_the_length_limit_is_accepted(client: TestClient) -> None:
    assert ask(client, "memo " * 400)["abstained"] in (True, False)  # 2000 characters


# --- a store whose only article has no indexable words --------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_store_of_stopword_text_does_not_break_queries(
    tmp_path: Path, reuse_embedder: Embedder, restore_torch_threads: None
) -> None:
    settings = api_settings(tmp_path / "data")
    components = build_components(settings)
    article = Article(id="hamlet", title="Hamlet", text="To be or not to be.", lang="en")
    ingest_articles([article], components.store, components.embedder, components.chunking)
    engine = build_engine(components, llm=ScriptedLLM())
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        response = client.post("/v1/query", json={"question": "To be or not to be?"})
    assert response.status_code == 200, response.text


def test_a_citation_to_the_wrong_source_is_moved_to_the_one_that_backs_it(client: TestClient, api: Api) -> None:
    """The model cites every source number in turn; the claim always ends up on the passage with it."""
    for wrong in range(1, 5):
        api.llm.script(f"Donald Trump met Chinese President Xi Jinping in South Korea [{wrong}].")
        body = ask(client, "Who did Donald Trump meet in South Korea?")
        assert not body["abstained"], body
        assert body["answer"].endswith("[1].")
        (citation,) = body["citations"]
        assert "Xi Jinping" in citation["quote"]
        assert api.article.text[citation["start"] : citation["end"]] == citation["quote"]


def test_per_sentence_support_flags_the_unbacked_sentence(client: TestClient, api: Api) -> None:
    api.llm.script("Donald Trump met Chinese President Xi Jinping in South Korea [1]. Alibaba's CEO is Jack Ma [1].")
    body = ask(client, "Who did Donald Trump meet in South Korea?")
    assert [(s["supported"], s["citations"]) for s in body["sentences"]] == [(True, [1]), (False, [])]
    assert "Jack Ma" not in body["answer"]
    assert "Jack Ma" in body["sentences"][1]["text"]


def test_the_judge_sees_the_claim_and_the_cited_passage(client: TestClient, api: Api) -> None:
    api.llm.script("Donald Trump met Chinese President Xi Jinping in South Korea [1].")
    body = ask(client, "Who did Donald Trump meet in South Korea?")
    (judged,) = api.llm.judge_prompts
    assert "Claim: Donald Trump met Chinese President Xi Jinping in South Korea." in judged
    passage = " ".join(body["citations"][0]["quote"].split())
    assert passage in " ".join(judged.split())


@pytest.mark.parametrize("verdict", ["false", "unmentioned", "Not mentioned.", "FALSE - the text says otherwise"])
def test_a_sentence_the_judge_rejects_is_not_passed_on(client: TestClient, api: Api, verdict: str) -> None:
    """Every word is in the passage, but both of the judge's questions say no: abstain."""
    api.llm.script("Donald Trump met Chinese President Xi Jinping in South Korea [1].", verdict=verdict)
    body = ask(client, "Who did Donald Trump meet in South Korea?")
    assert body["abstained"] is True
    assert body["citations"] == []
    assert len(api.llm.judge_prompts) == 2


def test_the_judges_extraction_can_overrule_its_verdict(client: TestClient, api: Api) -> None:
    api.llm.script("Donald Trump met Chinese President Xi Jinping in South Korea [1].", "unmentioned", "Xi Jinping")
    body = ask(client, "Who did Donald Trump meet in South Korea?")
    assert body["abstained"] is False
    assert "Question: Who did Donald Trump meet in South Korea?" in api.llm.judge_prompts[1]


@pytest.mark.parametrize("verdict", ["true", "True.", "I think so", ""])
def test_a_judge_reply_that_is_not_a_rejection_keeps_the_sentence(client: TestClient, api: Api, verdict: str) -> None:
    api.llm.script("Donald Trump met Chinese President Xi Jinping in South Korea [1].", verdict=verdict)
    body = ask(client, "Who did Donald Trump meet in South Korea?")
    assert body["abstained"] is False
    assert [s["supported"] for s in body["sentences"]] == [True]


@pytest.mark.parametrize(
    "filters",
    [
        {"source": "BB.LV"},
        {"published_after": "2025-11-18", "published_before": "2025-11-18"},
        {"article_ids": ["000_070c77320a5da855", "some-other-article"]},
        {"as_of": "2025-11-18"},
    ],
)
def test_filters_that_admit_the_article_answer(client: TestClient, api: Api, filters: dict[str, Any]) -> None:
    api.llm.script("FT reviewed the memo [1].")
    body = ask(client, ANSWERABLE, filters=filters)
    assert body["abstained"] is False
    assert {c["article_id"] for c in body["citations"]} == {api.article.id}


@pytest.mark.parametrize(
    "filters",
    [
        {"source": "cnn.com"},
        {"published_after": "2025-11-19"},
        {"published_before": "2025-11-17"},
        {"article_ids": ["x"]},
        {"as_of": "2025-11-17"},  # asked the day before it was published
    ],
)
def test_filters_that_exclude_the_article_abstain_without_the_llm(
    client: TestClient, api: Api, filters: dict[str, Any]
) -> None:
    api.llm.script("FT reviewed the memo [1].")
    body = ask(client, ANSWERABLE, filters=filters)
    assert body["abstained"] is True
    assert body["citations"] == []
    assert api.llm.calls == 0


def test_a_bad_filter_says_which_field(client: TestClient) -> None:
    response = client.post("/v1/query", json={"question": ANSWERABLE, "filters": {"published_after": "2025-02-30"}})
    assert response.status_code == 422
    assert "published_after" in response.text and "calendar date" in response.text


def test_quotes_are_narrowed_to_the_backing_sentence(client: TestClient, api: Api) -> None:
    api.llm.script("Chinese Huawei has already been blacklisted in the U.S. [1]")
    body = ask(client, "Which company has already been blacklisted in the U.S.?")
    (citation,) = body["citations"]
    assert (
        citation["quote"]
        == "Chinese Huawei has already been blacklisted in the U.S., and similar risks remain for TikTok."
    )


def test_a_backed_sentence_that_does_not_answer_the_question_abstains(client: TestClient, api: Api) -> None:
    """Every word is the article's and the judge agrees, but the sentence is about something else."""
    api.llm.script("Chinese Huawei has already been blacklisted in the U.S. [1]")
    body = ask(client, "Which newspaper reviewed the White House memo?")
    assert body["abstained"] is True
    assert len(api.llm.judge_prompts) >= 1  # it got through the checks before this one


# --- search ---------------------------------------------------------------------------------


def test_search_returns_ranked_passages_that_are_the_article_text(client: TestClient, api: Api) -> None:
    response = client.post("/v1/search", json={"question": ANSWERABLE, "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    hits = body["hits"]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1)) and 1 <= len(hits) <= 3
    for hit in hits:
        assert hit["article_id"] == api.article.id
        assert api.article.text[hit["start"] : hit["end"]] == hit["text"]
    assert any("Financial Times" in h["text"] or "FT" in h["text"] for h in hits)
    assert body["timings_ms"]["retrieve"] > 0
    assert api.llm.calls == 0  # retrieval only: the model is never asked


def test_search_applies_filters_and_refuses_bad_ones(client: TestClient) -> None:
    excluded = client.post("/v1/search", json={"question": ANSWERABLE, "filters": {"source": "cnn.com"}})
    assert excluded.status_code == 200 and excluded.json()["hits"] == []
    bad = client.post("/v1/search", json={"question": ANSWERABLE, "filters": {"published_after": "2025-02-30"}})
    assert bad.status_code == 422 and "published_after" in bad.text
    assert_client_error(client.post("/v1/search", json={"question": "   "}))
    assert_client_error(client.post("/v1/search", json={"question": ANSWERABLE, "top_k": 0}))


def test_query_choices_reach_the_model_but_an_option_is_not_a_fact(client: TestClient, api: Api) -> None:
    api.llm.script("The Financial Times reviewed the memo [1].")
    body = ask(client, ANSWERABLE, choices=["The Financial Times", "Reuters"])
    assert "Reuters" in api.llm.prompts[-1] and "The Financial Times" in api.llm.prompts[-1]
    assert body["abstained"] is False and body["citations"]
    # An option the articles never mention does not become a backed sentence by being offered.
    api.llm.script("Reuters reviewed the memo [1].")
    body = ask(client, ANSWERABLE, choices=["The Financial Times", "Reuters"])
    assert "Reuters" not in body["answer"]
