"""/v1/chat, streaming and the OpenAI-compatible routes, over the seed article with a scripted model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import Api
from tests.sse import sse_events

QUESTION = "Who reviewed the White House memo?"
REPLY = "The Financial Times reviewed the memo [1]."
FOLLOW_UP = "How did the company respond?"
REWRITTEN = "How did Alibaba respond to the White House memo?"
UNRELATED = "Who won the 2022 FIFA World Cup final?"


@pytest.fixture
def client(api: Api) -> TestClient:
    api.llm.script(REPLY, rewritten=REWRITTEN)
    return api.client


def _events(response: Any) -> list[tuple[str, Any]]:
    """Parse a Server-Sent Events body into (event, data) pairs."""
    return [(e.get("event", "message"), json.loads(e["data"])) for e in sse_events(response.text) if "data" in e]


def _conversation(*turns: str) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


# -- /v1/chat ---------------------------------------------------------------------------------------


def test_a_first_question_is_answered_as_asked(client: TestClient, api: Api) -> None:
    body = client.post("/v1/chat", json={"messages": _conversation(QUESTION)}).json()
    assert body["standalone_question"] == QUESTION
    assert "Financial Times" in body["answer"] and body["citations"]
    assert api.llm.rewrite_prompts == []  # no model call spent on a question that stands alone


def test_a_follow_up_is_rewritten_with_the_conversation_before_retrieval(client: TestClient, api: Api) -> None:
    api.llm.script("Alibaba called the claims nonsense [1].", rewritten=REWRITTEN)
    response = client.post("/v1/chat", json={"messages": _conversation(QUESTION, REPLY, FOLLOW_UP)})
    body = response.json()
    assert response.status_code == 200, body
    assert body["standalone_question"] == REWRITTEN
    (rewrite_prompt,) = api.llm.rewrite_prompts
    assert QUESTION in rewrite_prompt and FOLLOW_UP in rewrite_prompt
    assert "[1]" not in rewrite_prompt  # markers are noise to the rewrite
    (prompt,) = api.llm.prompts
    assert REWRITTEN in prompt  # the model answers the rewritten question


def test_a_later_question_that_stands_alone_is_not_rewritten(client: TestClient, api: Api) -> None:
    other = "Which AI model does Alibaba own?"
    body = client.post("/v1/chat", json={"messages": _conversation(QUESTION, REPLY, other)}).json()
    assert body["standalone_question"] == other
    assert api.llm.rewrite_prompts == []


def test_an_unusable_rewrite_falls_back_to_the_question(client: TestClient, api: Api) -> None:
    api.llm.script(REPLY, rewritten="")
    body = client.post("/v1/chat", json={"messages": _conversation(QUESTION, REPLY, FOLLOW_UP)}).json()
    assert body["standalone_question"] == FOLLOW_UP


@pytest.mark.parametrize(
    "payload",
    [
        {"messages": []},
        {"messages": _conversation(QUESTION, REPLY)},  # ends with the assistant
        {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": QUESTION}]},
        {"messages": [{"role": "user", "content": "   "}]},
        {"messages": [{"role": "user", "content": "a\x00b"}]},
        {"messages": [{"role": "user", "content": QUESTION, "extra": 1}]},
        {"messages": "hello"},
        {"messages": _conversation(QUESTION), "stream": "yes"},
    ],
)
def test_bad_conversations_get_422_with_detail(client: TestClient, payload: dict[str, Any]) -> None:
    response = client.post("/v1/chat", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_an_over_long_question_in_a_chat_gets_422(client: TestClient) -> None:
    response = client.post("/v1/chat", json={"messages": _conversation("why " * 1000)})
    assert response.status_code == 422
    assert "longer than" in response.json()["detail"]


# -- streaming --------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/v1/query", "/v1/chat"])
def test_a_stream_sends_tokens_then_the_checked_answer(client: TestClient, api: Api, route: str) -> None:
    payload: dict[str, Any] = {"question": QUESTION} if route == "/v1/query" else {"messages": _conversation(QUESTION)}
    plain = client.post(route, json=payload).json()
    api.llm.script(REPLY, rewritten=REWRITTEN)
    response = client.post(route, json={**payload, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"token"} and len(kinds) > 3
    assert "".join(data["text"] for kind, data in events if kind == "token") == REPLY
    final = events[-1][1]
    assert {k: v for k, v in final.items() if k != "timings_ms"} == {
        k: v for k, v in plain.items() if k != "timings_ms"
    }


def test_a_stream_for_an_abstention_is_one_final_event(client: TestClient, api: Api) -> None:
    events = _events(client.post("/v1/query", json={"question": UNRELATED, "stream": True}))
    assert [kind for kind, _ in events] == ["final"]
    assert events[0][1]["abstained"] is True
    assert api.llm.calls == 0


def test_the_stream_final_answer_drops_what_the_sources_do_not_back(client: TestClient, api: Api) -> None:
    api.llm.script("The Financial Times reviewed the memo [1]. The memo was written by Elon Musk [1].")
    events = _events(client.post("/v1/query", json={"question": QUESTION, "stream": True}))
    streamed = "".join(data["text"] for kind, data in events if kind == "token")
    assert "Elon Musk" in streamed  # the draft as generated...
    final = events[-1][1]
    assert "Elon Musk" not in final["answer"]  # ...and the checked answer without the unbacked sentence
    assert [s["supported"] for s in final["sentences"]] == [True, False]


# -- OpenAI-compatible ------------------------------------------------------------------------------


def test_models_lists_citewire_and_the_llm_behind_it(client: TestClient) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    (card,) = body["data"]
    assert card == {
        "id": "citewire",
        "object": "model",
        "created": 0,
        "owned_by": "llamacpp:default",
        "root": "scripted",
    }


def _usage(counted: list[tuple[int, int]]) -> dict[str, Any]:
    """OpenAI's usage object for the scripted model's calls (a word counted as a token)."""
    prompt, completion = sum(p for p, _ in counted), sum(c for _, c in counted)
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total} | {
        "prompt_tokens_details": {"cached_tokens": 0}
    }


def test_chat_completions_usage_sums_the_rewrite_the_answer_and_the_judge(client: TestClient, api: Api) -> None:
    payload = {"model": "citewire", "messages": _conversation(QUESTION, REPLY, FOLLOW_UP)}
    body = client.post("/v1/chat/completions", json=payload).json()
    assert api.llm.rewrite_prompts and api.llm.prompts and api.llm.judge_prompts  # all three kinds of call ran
    assert body["usage"] == _usage(api.llm.counted) and body["usage"]["total_tokens"] > 0


def test_a_stream_that_asks_for_usage_ends_with_it(client: TestClient, api: Api) -> None:
    payload: dict[str, Any] = {"messages": _conversation(QUESTION, REPLY, FOLLOW_UP), "stream": True}
    plain = client.post("/v1/chat/completions", json=payload).text
    assert '"usage"' not in plain  # only when asked, as OpenAI does
    api.llm.counted.clear()
    payload["stream_options"] = {"include_usage": True}
    lines = client.post("/v1/chat/completions", json=payload).text.splitlines()
    datas = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    *answer, last = chunks
    assert all(c["usage"] is None and len(c["choices"]) == 1 for c in answer)
    assert last["choices"] == [] and last["usage"] == _usage(api.llm.counted)
    assert len(api.llm.counted) >= 3  # the rewrite, the answer, the judge


def test_an_answer_without_a_model_call_uses_no_tokens(client: TestClient, api: Api) -> None:
    body = client.post("/v1/chat/completions", json={"messages": _conversation(UNRELATED)}).json()
    assert body["citewire"]["abstained"] and api.llm.counted == []
    assert body["usage"] == _usage([])


def test_chat_completions_carry_the_answer_sources_and_structured_citations(client: TestClient) -> None:
    payload = {
        "model": "citewire",
        "messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": QUESTION}],
        "temperature": 0.7,  # accepted, and ignored
    }
    body = client.post("/v1/chat/completions", json=payload).json()
    assert body["object"] == "chat.completion"
    content = body["choices"][0]["message"]["content"]
    assert content.startswith(body["citewire"]["answer"])
    assert "\n\nSources:\n[1] Chinese giant Alibaba accused by Washington" in content
    assert body["citewire"]["citations"][0]["quote"] in content
    assert body["choices"][0]["finish_reason"] == "stop"


def test_chat_completions_stream_ends_with_citations_and_done(client: TestClient) -> None:
    payload = {"model": "anything", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    response = client.post("/v1/chat/completions", json=payload)
    datas = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "anything" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert text.startswith(last["citewire"]["answer"]) and "Sources:" in text


@pytest.mark.parametrize(
    "payload",
    [
        {"messages": []},
        {"messages": [{"role": "assistant", "content": "hi"}]},
        {"messages": [{"role": "user", "content": ""}]},
        {"messages": [{"role": "wizard", "content": QUESTION}]},
        {"model": "citewire"},
    ],
)
def test_bad_chat_completions_get_422(client: TestClient, payload: dict[str, Any]) -> None:
    response = client.post("/v1/chat/completions", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_health_shows_the_queue(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["generating"] == 0 and body["queued"] == 0
