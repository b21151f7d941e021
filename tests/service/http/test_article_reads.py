"""Reading articles and opening the passage behind a citation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Api
from tests.service.http.helpers import ANSWERABLE, ask, assert_client_error

# --- articles -------------------------------------------------------------------------------


def test_article_list_has_the_seed(client: TestClient, api: Api) -> None:
    listing = client.get("/v1/articles").json()
    assert listing["total"] == 1
    (summary,) = listing["articles"]
    assert summary["id"] == api.article.id
    assert summary["title"] == api.article.title == "Chinese giant Alibaba accused by Washington"
    assert summary["source"] == "BB.LV"
    assert summary["published_at"] == api.article.published_at
    assert summary["chunk_count"] == api.chunk_count
    assert "text" not in summary


def test_article_detail_has_the_exact_text(client: TestClient, api: Api) -> None:
    detail = client.get(f"/v1/articles/{api.article.id}").json()
    assert detail["text"] == api.article.text
    assert detail["version"] == api.article.version
    assert detail["chunk_count"] == api.chunk_count
    assert detail["ingested_at"]


@pytest.mark.parametrize("article_id", ["unknown", "000_070c77320a5da85", "%00", "x" * 500])
def test_unknown_article_is_404_with_detail(client: TestClient, article_id: str) -> None:
    response = client.get(f"/v1/articles/{article_id}")
    assert response.status_code == 404
    assert "no article with id" in response.json()["detail"]


# --- passages -------------------------------------------------------------------------------


def _passage(client: TestClient, api: Api, **params: Any) -> Any:
    return client.get(f"/v1/articles/{api.article.id}/passage", params=params)


def test_passage_returns_the_quote_and_consistent_context(client: TestClient, api: Api) -> None:
    text = api.article.text
    start = text.index("Financial Times")
    end = start + len("Financial Times")
    response = _passage(client, api, start=start, end=end)
    assert response.status_code == 200
    body = response.json()
    assert body["quote"] == text[start:end] == "Financial Times"
    assert (body["start"], body["end"], body["title"]) == (start, end, api.article.title)
    assert body["context"] == text[body["context_start"] : body["context_end"]]
    assert body["context"][body["highlight_start"] : body["highlight_end"]] == body["quote"]
    assert body["context_start"] <= start and body["context_end"] >= end
    assert len(body["context"]) > len(body["quote"])
    assert "\n\n" not in body["context"]  # stays inside the paragraph


def test_passage_of_a_cited_chunk(client: TestClient, api: Api) -> None:
    api.llm.script("FT reviewed the memo [1].")
    citation = ask(client, ANSWERABLE)["citations"][0]
    body = _passage(client, api, start=citation["start"], end=citation["end"], context=50).json()
    assert body["quote"] == citation["quote"]
    assert body["context"][body["highlight_start"] : body["highlight_end"]] == citation["quote"]


def test_passage_without_context_is_the_quote(client: TestClient, api: Api) -> None:
    body = _passage(client, api, start=100, end=120, context=0).json()
    assert body["context"] == body["quote"] == api.article.text[100:120]
    assert (body["highlight_start"], body["highlight_end"]) == (0, 20)


def test_passage_of_the_whole_text(client: TestClient, api: Api) -> None:
    body = _passage(client, api, start=0, end=len(api.article.text)).json()
    assert body["quote"] == body["context"] == api.article.text


@pytest.mark.parametrize(
    "params",
    [
        {"start": 10, "end": 10},
        {"start": 10, "end": 5},
        {"start": 0, "end": 10**6},
        {"start": -1, "end": 10},
        {"start": "abc", "end": 10},
        {"start": "1.5", "end": 10},
        {"start": 0},
        {"end": 10},
        {"start": 0, "end": 10, "context": -1},
        {"start": 0, "end": 10, "context": 5001},
        {"start": 10**30, "end": 10},
    ],
    ids=str,
)
def test_bad_passage_offsets_are_a_client_error(client: TestClient, api: Api, params: dict[str, Any]) -> None:
    assert_client_error(_passage(client, api, **params))


def test_out_of_range_offsets_name_the_text_length(client: TestClient, api: Api) -> None:
    response = _passage(client, api, start=0, end=len(api.article.text) + 1)
    assert response.status_code == 422
    assert str(len(api.article.text)) in response.json()["detail"]


def test_passage_of_unknown_article_is_404(client: TestClient) -> None:
    response = client.get("/v1/articles/unknown/passage", params={"start": 0, "end": 1})
    assert response.status_code == 404
    assert response.json()["detail"]
