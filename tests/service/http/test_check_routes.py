"""/v1/check over a real Chroma store and the real MiniLM embedder; the scripted LLM plays the verifier.

Through the chat adapter the scripted verdict is the verifier's one word, so "true" makes every sentence read
support and "false" contradiction: what is tested here is the route's shape, spans and limits, not the model's
judgement (tests/e2e/test_check_claims.py runs the default model on a labelled set).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import Api
from tests.service.http.helpers import UNRELATED, assert_client_error

SEED_CLAIMS = "The Financial Times reviewed the White House memo. Huawei has already been blacklisted in the US."


def check(api: Api, text: str, **extra: Any) -> dict[str, Any]:
    response = api.client.post("/v1/check", json={"text": text, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_exact(api: Api, spans: list[dict[str, Any]]) -> None:
    for span in spans:
        article = api.client.get(f"/v1/articles/{span['article_id']}").json()
        assert span["quote"] == article["text"][span["start"] : span["end"]]
        assert span["chunk_id"].startswith(f"{span['article_id']}::{article['version']}::")


def test_supported_claims_carry_their_exact_sentences(api: Api) -> None:
    api.llm.script("", verdict="true")
    body = check(api, SEED_CLAIMS)
    assert [c["text"] for c in body["claims"]] == [
        SEED_CLAIMS[: SEED_CLAIMS.index(" Huawei")],
        "Huawei has already been blacklisted in the US.",
    ]
    for claim in body["claims"]:
        assert SEED_CLAIMS[claim["start"] : claim["end"]] == claim["text"]
        assert claim["label"] == "supported"
        assert claim["support"] == 1.0 and claim["supporting"] and not claim["contradicting"]
        assert_exact(api, claim["supporting"])
    assert (body["supported"], body["contradicted"], body["unmentioned"], body["score"]) == (2, 0, 0, 1.0)


def test_a_contradicted_claim_shows_what_says_otherwise(api: Api) -> None:
    api.llm.script("", verdict="false")
    body = check(api, "Alibaba confirmed that it helps the Chinese army.")
    (claim,) = body["claims"]
    assert claim["label"] == "contradicted" and claim["contradiction"] == 1.0
    assert claim["contradicting"] and not claim["supporting"]
    assert_exact(api, claim["contradicting"])
    assert body["score"] == 0.0


def test_a_claim_nothing_is_about_is_unmentioned_without_asking_the_model(api: Api) -> None:
    api.llm.script("", verdict="true")
    body = check(api, UNRELATED.replace("Who won", "Argentina won"))
    (claim,) = body["claims"]
    assert claim["label"] == "unmentioned"
    assert claim["supporting"] == claim["contradicting"] == []
    assert api.llm.judge_prompts == []  # retrieval found nothing relevant: no verifier call


def test_filters_limit_what_a_claim_is_checked_against(api: Api) -> None:
    api.llm.script("", verdict="true")
    body = check(api, SEED_CLAIMS, filters={"article_ids": ["no-such-article"]})
    assert [c["label"] for c in body["claims"]] == ["unmentioned", "unmentioned"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"text": "   "}, "blank"),
        ({"text": "A claim.", "stream": True}, "stream"),
        ({"text": ". ".join(["One claim"] * 13) + "."}, "13 claims"),
        ({"text": "word " * 500 + "end."}, "longer than 2000"),
        ({"text": "A claim.", "filters": {"as_of": "2025-02-30"}}, "calendar date"),
    ],
)
def test_uncheckable_input_is_a_client_error(api: Api, body: dict[str, Any], detail: str) -> None:
    response = api.client.post("/v1/check", json=body)
    assert_client_error(response)
    assert response.status_code == 422
    assert detail in str(response.json()["detail"])
