"""Bad input to any route: always a 4xx with a JSON detail, never a 500, never the LLM."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Api
from tests.service.http.helpers import ANSWERABLE, assert_client_error

# --- bad input: always a 4xx with a JSON detail, never a 500, never the LLM -------------------

BAD_QUERIES: dict[str, dict[str, Any]] = {
    "empty question": {"json": {"question": ""}},
    "blank question": {"json": {"question": " \n\t "}},
    "question over the limit": {"json": {"question": "a" * 3000}},
    "question one over the limit": {"json": {"question": "a" * 2001}},
    "question as number": {"json": {"question": 42}},
    "question as null": {"json": {"question": None}},
    "question as list": {"json": {"question": ["Who?"]}},
    "question missing": {"json": {}},
    "top_k zero": {"json": {"question": ANSWERABLE, "top_k": 0}},
    "top_k 21": {"json": {"question": ANSWERABLE, "top_k": 21}},
    "top_k negative": {"json": {"question": ANSWERABLE, "top_k": -1}},
    "top_k string": {"json": {"question": ANSWERABLE, "top_k": "3"}},
    "top_k float": {"json": {"question": ANSWERABLE, "top_k": 3.0}},
    "top_k bool": {"json": {"question": ANSWERABLE, "top_k": True}},
    "top_k huge": {"json": {"question": ANSWERABLE, "top_k": 10**30}},
    "unknown field": {"json": {"question": ANSWERABLE, "temperature": 1}},
    "NUL in question": {"json": {"question": "Who reviewed\x00 the memo?"}},
    "body is a list": {"json": [ANSWERABLE]},
    "body is a string": {"json": ANSWERABLE},
    "malformed JSON": {"content": b'{"question": "Who?"', "headers": {"content-type": "application/json"}},
    "trailing garbage": {"content": b'{"question": "Who?"} x', "headers": {"content-type": "application/json"}},
    "not UTF-8": {"content": b'{"question": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
    "missing body": {},
    "form body": {"data": {"question": ANSWERABLE}},
    "filters not an object": {"json": {"question": ANSWERABLE, "filters": "cnn.com"}},
    "filter unknown key": {"json": {"question": ANSWERABLE, "filters": {"author": "x"}}},
    "filter date not a day": {"json": {"question": ANSWERABLE, "filters": {"published_after": "2025-13-01"}}},
    "filter date words": {"json": {"question": ANSWERABLE, "filters": {"published_before": "yesterday"}}},
    "filter datetime": {"json": {"question": ANSWERABLE, "filters": {"published_after": "2025-11-18T09:21:00"}}},
    "filter dates reversed": {
        "json": {"question": ANSWERABLE, "filters": {"published_after": "2025-12-01", "published_before": "2025-11-01"}}
    },
    "filter empty id list": {"json": {"question": ANSWERABLE, "filters": {"article_ids": []}}},
    "filter as_of not a day": {"json": {"question": ANSWERABLE, "filters": {"as_of": "16/06/2022"}}},
    "filter after later than as_of": {
        "json": {"question": ANSWERABLE, "filters": {"published_after": "2025-12-01", "as_of": "2025-11-01"}}
    },
    "filter bad id": {"json": {"question": ANSWERABLE, "filters": {"article_ids": ["../etc/passwd"]}}},
    "filter source number": {"json": {"question": ANSWERABLE, "filters": {"source": 7}}},
    "filter empty source": {"json": {"question": ANSWERABLE, "filters": {"source": ""}}},
    "one choice": {"json": {"question": ANSWERABLE, "choices": ["FT"]}},
    "choices not a list": {"json": {"question": ANSWERABLE, "choices": "FT; Reuters"}},
    "blank choice": {"json": {"question": ANSWERABLE, "choices": ["FT", "  "]}},
    "choice not a string": {"json": {"question": ANSWERABLE, "choices": ["FT", 7]}},
    "eleven choices": {"json": {"question": ANSWERABLE, "choices": [f"option {i}" for i in range(11)]}},
    "huge choice": {"json": {"question": ANSWERABLE, "choices": ["FT", "x" * 501]}},
}


@pytest.mark.parametrize("request_kwargs", list(BAD_QUERIES.values()), ids=list(BAD_QUERIES))
def test_bad_query_input_is_a_client_error(client: TestClient, api: Api, request_kwargs: dict[str, Any]) -> None:
    api.llm.script("FT reviewed the memo [1].")
    assert_client_error(client.post("/v1/query", **request_kwargs))
    assert api.llm.calls == 0


def test_too_long_question_says_the_limit(client: TestClient) -> None:
    response = client.post("/v1/query", json={"question": "a" * 3000})
    assert response.status_code == 422
    assert "2000" in response.json()["detail"]


def test_wrong_method_is_a_client_error(client: TestClient) -> None:
    assert_client_error(client.get("/v1/query"))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"question": "Who reviewed the memo?", "top_k": NaN}',
        b'{"question": "Who reviewed the memo?", "top_k": Infinity}',
        b'{"question": "Who reviewed the memo?", "top_k": 1e400}',
        b'{"question": NaN}',
        b'{"question": "\\ud800"}',
    ],
    ids=["top_k NaN", "top_k Infinity", "top_k 1e400", "question NaN", "lone surrogate"],
)
def test_unrenderable_bad_input_is_a_client_error(client: TestClient, raw: bytes) -> None:
    assert_client_error(client.post("/v1/query", content=raw, headers={"content-type": "application/json"}))


@pytest.mark.parametrize(
    ("route", "raw", "loc"),
    [
        ("/v1/query", b'{"question": "Who reviewed the memo? \\udc00"}', ["body", "question"]),
        (
            "/v1/chat/completions",
            b'{"model": "x\\ud800", "messages": [{"role": "user", "content": "Who?"}]}',
            ["body", "model"],
        ),
        (
            "/v1/chat/completions",
            b'{"messages": [{"role": "user", "content": "a\\ud800"}, {"role": "assistant", "content": "b"},'
            b' {"role": "user", "content": "Who?"}]}',
            ["body", "messages", "0", "content"],
        ),
        (
            "/v1/eval",
            b'{"questions": [{"id": "q", "question": "Who?", "answer": "x", "y\\udfff": 1}]}',
            ["body", "questions", "0", "y\\udfff"],
        ),
    ],
    ids=["question", "openai model", "earlier openai message", "a key of a free-form record"],
)
def test_a_lone_surrogate_anywhere_in_a_body_is_a_422_naming_the_field(
    client: TestClient, route: str, raw: bytes, loc: list[str]
) -> None:
    response = client.post(route, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["type"] == "string_unicode" and "lone surrogate" in problem["msg"]
    assert problem["loc"] == loc


def test_a_paired_surrogate_escape_is_ordinary_text(client: TestClient, api: Api) -> None:
    api.llm.script("The Financial Times reviewed the memo [1].")
    raw = b'{"question": "Who reviewed the White House memo? \\ud83d\\ude00"}'  # an escaped emoji
    response = client.post("/v1/query", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
