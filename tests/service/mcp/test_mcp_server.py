"""The MCP server in-process, over the seed store with the scripted model: tools, resources, errors, and /mcp's
access checks. The protocol runs for real (the SDK's client against the SDK's server); only the model is scripted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, PaginatedRequestParams, TextContent, TextResourceContents
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.http.limits import RateLimit
from service.http.state import AppState
from service.mcp import server as mcp_server
from tests.service.conftest import Api

T = TypeVar("T")
QUESTION = "Who did Donald Trump meet in South Korea?"
CITED = "Donald Trump met Chinese President Xi Jinping in South Korea [1]."
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def state_of(api: Api) -> AppState:
    return api.client.app.state.citewire  # type: ignore[attr-defined,no-any-return]


def with_client(api: Api, talk: Callable[[Client], Awaitable[T]]) -> T:
    """``talk`` to a Citewire MCP server over the api's loaded parts, connected in-process."""

    @asynccontextmanager
    async def shared(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        yield state_of(api)

    async def main() -> T:
        async with Client(mcp_server.build_server(shared)) as client:
            return await talk(client)

    return anyio.run(main)


def call(api: Api, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    return with_client(api, lambda client: client.call_tool(tool, arguments))


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def test_the_four_tools_are_listed_read_only_with_output_schemas(api: Api) -> None:
    tools = with_client(api, lambda client: client.list_tools()).tools
    assert sorted(t.name for t in tools) == ["ask", "check", "get_passage", "search"]
    for tool in tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None and tool.description
    ask = next(t for t in tools if t.name == "ask")
    assert ask.input_schema["required"] == ["question"]
    assert "citations" in ask.output_schema["properties"]  # type: ignore[index]


def test_ask_answers_with_citations_that_are_spans_of_the_article(api: Api) -> None:
    api.llm.script(CITED)
    result = call(api, "ask", {"question": QUESTION})
    assert not result.is_error, result
    body = result.structured_content
    assert body is not None and body["abstained"] is False
    (citation,) = body["citations"]
    assert api.article.text[citation["start"] : citation["end"]] == citation["quote"]
    assert "Xi Jinping" in citation["quote"]
    text = text_of(result)
    assert text.startswith(body["answer"])
    assert f"{citation['article_id']} [{citation['start']}:{citation['end']}]" in text


def test_search_returns_passages_without_the_model(api: Api) -> None:
    api.llm.script(CITED)
    result = call(api, "search", {"question": QUESTION, "top_k": 2})
    hits = (result.structured_content or {})["hits"]
    assert 1 <= len(hits) <= 2
    for hit in hits:
        assert api.article.text[hit["start"] : hit["end"]] == hit["text"]
    assert api.llm.calls == 0
    assert text_of(result).startswith("1. ")


def test_filters_are_the_apis(api: Api) -> None:
    result = call(api, "search", {"question": QUESTION, "filters": {"source": "nowhere.example"}})
    assert (result.structured_content or {})["hits"] == []
    bad = call(api, "search", {"question": QUESTION, "filters": {"published_after": "2025-02-30"}})
    assert bad.is_error and "not a calendar date" in text_of(bad)


def test_check_labels_claims_with_exact_spans(api: Api) -> None:
    api.llm.script("", verdict="false")  # the scripted verifier reads every sentence as a contradiction
    text = "Alibaba confirmed that it helps the Chinese army."
    result = call(api, "check", {"text": text})
    assert not result.is_error, text_of(result)
    body = result.structured_content or {}
    (claim,) = body["claims"]
    assert (claim["label"], claim["text"], claim["start"], claim["end"]) == ("contradicted", text, 0, len(text))
    assert claim["contradicting"]
    for span in claim["contradicting"]:
        assert api.article.text[span["start"] : span["end"]] == span["quote"]
    assert text_of(result).startswith("Grounding 0.00: 0 supported, 1 contradicted, 0 unmentioned.")
    assert "- CONTRADICTED [0:49]" in text_of(result)


@pytest.mark.parametrize(
    ("text", "message"), [(". ".join(["One claim"] * 13) + ".", "13 claims"), ("word " * 500 + "end.", "longer than")]
)
def test_an_uncheckable_text_is_a_tool_error(api: Api, text: str, message: str) -> None:
    api.llm.script("", verdict="true")
    result = call(api, "check", {"text": text})
    assert result.is_error
    assert message in text_of(result)
    assert api.llm.judge_prompts == []


def test_get_passage_opens_the_cited_span(api: Api) -> None:
    start = api.article.text.index("Xi Jinping")
    arguments = {"article_id": api.article.id, "start": start, "end": start + 10, "context": 40}
    result = call(api, "get_passage", arguments)
    passage = result.structured_content or {}
    assert passage["quote"] == "Xi Jinping"
    assert passage["context"][passage["highlight_start"] : passage["highlight_end"]] == "Xi Jinping"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"article_id": "no-such-article", "start": 0, "end": 5}, "no article with id 'no-such-article'"),
        ({"start": 10, "end": 5}, "offsets out of range"),
        ({"start": 0, "end": 10_000_000}, "offsets out of range"),
        ({"start": -1, "end": 5}, "greater than or equal to 0"),
    ],
)
def test_a_bad_passage_request_is_a_tool_error(api: Api, arguments: dict[str, Any], message: str) -> None:
    result = call(api, "get_passage", {"article_id": api.article.id, **arguments})
    assert result.is_error
    assert message in text_of(result)


@pytest.mark.parametrize(
    ("question", "message"),
    [("x" * 2001, "longer than 2000 characters"), ("   ", "must not be blank"), ("a\x00b", "NUL")],
)
def test_a_question_the_api_refuses_is_a_tool_error(api: Api, question: str, message: str) -> None:
    api.llm.script(CITED)
    result = call(api, "ask", {"question": question})
    assert result.is_error
    assert message in text_of(result)
    assert api.llm.calls == 0


def test_a_busy_model_is_a_tool_error_not_a_wait(api: Api) -> None:
    api.llm.script(CITED)
    gate = state_of(api).responder.gate
    held, waiting = gate.enter(), gate.max_waiting
    gate.max_waiting = 0  # nobody may queue: the call is refused at once, as HTTP would with a 503
    try:
        result = call(api, "ask", {"question": QUESTION})
    finally:
        gate.max_waiting = waiting
        gate.leave(held)
    assert result.is_error
    assert "the model is busy" in text_of(result) and "try again in" in text_of(result)
    assert api.llm.calls == 0
    assert gate.active == 0


def test_articles_are_resources_with_their_exact_text(api: Api) -> None:
    async def talk(client: Client) -> tuple[Any, ...]:
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
        read = await client.read_resource(listed.resources[0].uri)
        return listed, templates, read

    listed, templates, read = with_client(api, talk)
    (resource,) = listed.resources
    assert resource.uri == f"citewire://articles/{api.article.id}"
    assert resource.title == api.article.title and resource.mime_type == "application/json"
    assert listed.next_cursor is None
    assert [t.uri_template for t in templates.resource_templates] == ["citewire://articles/{article_id}"]
    (content,) = read.contents
    assert isinstance(content, TextResourceContents)
    article = json.loads(content.text)
    assert article["id"] == api.article.id and article["text"] == api.article.text


def refusal(api: Api, request: Callable[[Client], Awaitable[Any]]) -> MCPError:
    """The protocol error ``request`` is answered with (caught inside the session, which it would end)."""

    async def talk(client: Client) -> MCPError:
        with pytest.raises(MCPError) as refused:
            await request(client)
        return refused.value

    return with_client(api, talk)


def test_an_unknown_article_resource_is_a_protocol_error(api: Api) -> None:
    error = refusal(api, lambda client: client.read_resource("citewire://articles/nope"))
    assert "no article with id 'nope'" in str(error)


@pytest.fixture
def one_per_page(monkeypatch: pytest.MonkeyPatch, api: Api) -> Iterator[str]:
    """A second article stored, and one article a page; yields its id and deletes it after."""
    response = api.client.post(
        "/v1/articles", json={"id": "mcp-paging", "title": "Paging", "text": "A short note. " * 5}
    )
    assert response.status_code == 200, response.text
    monkeypatch.setattr(mcp_server, "PAGE_SIZE", 1)
    yield "mcp-paging"
    assert api.client.delete("/v1/articles/mcp-paging").status_code == 200


def test_the_listing_pages_with_a_cursor(api: Api, one_per_page: str) -> None:
    async def talk(client: Client) -> list[tuple[list[str], str | None]]:
        pages, cursor = [], None
        while True:
            listed = await client.session.list_resources(params=PaginatedRequestParams(cursor=cursor))
            pages.append(([r.name for r in listed.resources], listed.next_cursor))
            if (cursor := listed.next_cursor) is None:
                return pages

    pages = with_client(api, talk)
    assert len(pages) == 2
    assert sorted(name for names, _ in pages for name in names) == sorted([api.article.id, one_per_page])
    assert pages[-1][1] is None


def test_a_forged_cursor_is_refused(api: Api) -> None:
    error = refusal(api, lambda client: client.session.list_resources(params=PaginatedRequestParams(cursor="../x")))
    assert "not a cursor" in str(error)


def rpc(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params is not None else {})}


def test_mcp_over_http_is_mounted_on_the_app(api: Api) -> None:
    api.llm.script(CITED)
    response = api.client.post("/mcp", json=rpc("tools/list"), headers=MCP_HEADERS)
    assert response.status_code == 200, response.text
    assert {t["name"] for t in response.json()["result"]["tools"]} == {"ask", "check", "get_passage", "search"}
    called = api.client.post(
        "/mcp", json=rpc("tools/call", {"name": "ask", "arguments": {"question": QUESTION}}), headers=MCP_HEADERS
    ).json()["result"]
    (citation,) = called["structuredContent"]["citations"]
    assert api.article.text[citation["start"] : citation["end"]] == citation["quote"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},  # another site's page
        {"Origin": "http://rebound.example:8000", "Host": "rebound.example:8000"},  # a DNS-rebound name
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_mcp_refuses_pages_of_other_origins(api: Api, headers: dict[str, str]) -> None:
    response = api.client.post("/mcp", json=rpc("tools/list"), headers={**MCP_HEADERS, **headers})
    assert response.status_code == 403
    assert "may not" in response.json()["detail"] or "not one this server is known by" in response.json()["detail"]


def test_mcp_allows_the_servers_own_page(api: Api) -> None:
    headers = {**MCP_HEADERS, "Origin": "http://testserver", "Host": "testserver"}
    state = state_of(api)
    settings = state.settings
    state.settings = settings.model_copy(update={"allowed_hosts": ["testserver"]})
    try:
        assert api.client.post("/mcp", json=rpc("tools/list"), headers=headers).status_code == 200
    finally:
        state.settings = settings


def test_mcp_needs_the_key_when_reads_are_protected(api: Api) -> None:
    state = state_of(api)
    settings = state.settings
    state.settings = settings.model_copy(update={"protect_reads": True})
    try:
        key = api.client.headers.pop("Authorization")
        refused = api.client.post("/mcp", json=rpc("tools/list"), headers=MCP_HEADERS)
        allowed = api.client.post("/mcp", json=rpc("tools/list"), headers={**MCP_HEADERS, "Authorization": key})
    finally:
        api.client.headers["Authorization"] = key
        state.settings = settings
    assert refused.status_code == 401 and "API key" in refused.json()["detail"]
    assert allowed.status_code == 200


def test_mcp_counts_against_the_rate_limit() -> None:
    def ok(_: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [Route("/mcp", ok, methods=["POST"]), Route("/healthz", ok, methods=["POST"])]
    client = TestClient(Starlette(routes=routes, middleware=[Middleware(RateLimit, per_minute=1, burst=1)]))
    assert [client.post("/mcp").status_code for _ in range(2)] == [200, 429]
    assert client.post("/healthz").status_code == 200
