"""MCP end to end: ``citewire mcp`` as a real stdio subprocess, and ``/mcp`` of a real ``citewire serve``, each over
a copy of the seed store and called with the SDK's own client. Every test runs over both transports.

The tiny model keeps it quick: these tests are about the protocol and the citations' exact spans, not answer
quality. Each citation and span is checked against the article's text as its resource gives it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp.client.session import IncomingMessage
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent, TextResourceContents

from tests.e2e.servers import citewire, free_port, running

T = TypeVar("T")
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
# Two passages, short answers, one sentence checked per claim: as few model tokens as the calls need. One llama.cpp
# thread: on a busy machine, threads that spin waiting for each other made an answer five times slower.
ENV = {
    "CITEWIRE_LLM_MODEL": "tiny",
    "CITEWIRE_LLM_THREADS": "1",
    "CITEWIRE_TOP_K": "2",
    "CITEWIRE_MAX_ANSWER_TOKENS": "48",
    "CITEWIRE_CHECK_SENTENCES": "1",
}
QUESTION = "Which newspaper reviewed the White House memo?"
# The first sentence is the article's own; the second is not in it.
CLAIMS = "FT notes that it cannot independently verify the information from the White House. Alibaba sells cars."


@dataclass
class Mcp:
    """One client session, held open by a portal's event loop across the module's tests."""

    portal: BlockingPortal
    client: Client
    url: str | None  # /mcp of the HTTP server; None over stdio
    stray: list[Exception] = field(default_factory=list)  # what the client's transport could not read

    def run(self, call: Callable[[Client], Awaitable[T]]) -> T:
        async def go() -> T:
            return await call(self.client)

        return self.portal.call(go)

    def tool(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        return self.run(lambda client: client.call_tool(name, arguments))

    def article(self, article_id: str) -> dict[str, Any]:
        """The article resource: its metadata and the text the offsets point into."""
        read = self.run(lambda client: client.read_resource(f"citewire://articles/{article_id}"))
        (content,) = read.contents
        assert isinstance(content, TextResourceContents) and content.mime_type == "application/json"
        return dict(json.loads(content.text))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed store, ingested once; each transport's server gets a copy (no two processes share a Chroma dir)."""
    data = tmp_path_factory.mktemp("mcp-seeded")
    env = {**os.environ, **ENV}
    ingest = subprocess.run(
        citewire("ingest", str(SEEDS), "--data-dir", str(data), "--quiet"), capture_output=True, text=True, env=env
    )
    assert ingest.returncode == 0, ingest.stderr
    assert "1 created" in ingest.stdout
    return data


@pytest.fixture(scope="module", params=["stdio", "http"])
def mcp(request: pytest.FixtureRequest, seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mcp]:
    data = tmp_path_factory.mktemp(f"mcp-{request.param}")
    shutil.copytree(seeded, data, dirs_exist_ok=True)
    stray: list[Exception] = []

    async def keep_stray(message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            stray.append(message)

    with ExitStack() as stack:
        if request.param == "http":
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            args = citewire("serve", "--data-dir", str(data), "--port", str(port))
            stack.enter_context(running(args, f"{base}/healthz", data / "server.log", env=ENV))
            server: Any = f"{base}/mcp"
        else:
            log = stack.enter_context((data / "mcp-stderr.log").open("w"))
            args = ["-m", "service.cli", "mcp", "--data-dir", str(data)]
            server = stdio_client(StdioServerParameters(command=sys.executable, args=args, env=ENV), errlog=log)
        portal = stack.enter_context(start_blocking_portal())
        client = stack.enter_context(portal.wrap_async_context_manager(Client(server, message_handler=keep_stray)))
        yield Mcp(portal, client, server if isinstance(server, str) else None, stray)


def text_of(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def test_the_four_tools_are_listed(mcp: Mcp) -> None:
    tools = mcp.run(lambda client: client.list_tools()).tools
    assert sorted(t.name for t in tools) == ["ask", "check", "get_passage", "search"]
    assert all(t.output_schema for t in tools)


def test_the_stored_articles_are_resources(mcp: Mcp) -> None:
    (resource,) = mcp.run(lambda client: client.list_resources()).resources
    article = mcp.article(resource.name)
    assert resource.uri == f"citewire://articles/{article['id']}"
    assert resource.title == article["title"] == "Chinese giant Alibaba accused by Washington"
    assert "Financial Times" in article["text"]


def test_ask_cites_exact_spans_and_get_passage_opens_them(mcp: Mcp) -> None:
    result = mcp.tool("ask", {"question": QUESTION})
    assert not result.is_error, text_of(result)
    body = result.structured_content or {}
    assert body["abstained"] is False, body
    assert body["citations"], body
    for citation in body["citations"]:
        start, end = citation["start"], citation["end"]
        assert mcp.article(citation["article_id"])["text"][start:end] == citation["quote"]
        assert f"[{citation['n']}]" in body["answer"]
        assert f"{citation['article_id']} [{start}:{end}]" in text_of(result)
        opened = mcp.tool("get_passage", {"article_id": citation["article_id"], "start": start, "end": end})
        assert (opened.structured_content or {})["quote"] == citation["quote"]


def test_search_hits_are_exact_spans(mcp: Mcp) -> None:
    result = mcp.tool("search", {"question": QUESTION})
    hits = (result.structured_content or {})["hits"]
    assert hits
    for hit in hits:
        assert mcp.article(hit["article_id"])["text"][hit["start"] : hit["end"]] == hit["text"]


def test_check_labels_each_claim_with_exact_spans(mcp: Mcp) -> None:
    result = mcp.tool("check", {"text": CLAIMS})
    assert not result.is_error, text_of(result)
    body = result.structured_content or {}
    claims = body["claims"]
    assert [CLAIMS[c["start"] : c["end"]] for c in claims] == [c["text"] for c in claims]
    assert len(claims) == 2
    assert sum(body[label] for label in ("supported", "contradicted", "unmentioned")) == 2
    spans = [s for c in claims for s in (*c["supporting"], *c["contradicting"])]
    assert spans, body  # the article's own sentence is found, whichever way the tiny model judges it
    for span in spans:
        assert mcp.article(span["article_id"])["text"][span["start"] : span["end"]] == span["quote"]
    assert text_of(result).startswith("Grounding ")


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("get_passage", {"article_id": "no-such-article", "start": 0, "end": 5}, "no article with id"),
        ("get_passage", {"article_id": "000_070c77320a5da855", "start": 9, "end": 3}, "offsets out of range"),
        ("ask", {"question": "why? " * 500}, "longer than 2000 characters"),
    ],
)
def test_refusals_are_tool_errors(mcp: Mcp, tool: str, arguments: dict[str, Any], message: str) -> None:
    result = mcp.tool(tool, arguments)
    assert result.is_error
    assert message in text_of(result)


def test_a_page_of_another_origin_is_refused(mcp: Mcp) -> None:
    if mcp.url is None:
        pytest.skip("an HTTP check")
    headers = {"Accept": "application/json, text/event-stream", "Origin": "http://evil.example"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(mcp.url, json=ping, headers=headers, timeout=30)
    assert response.status_code == 403
    assert "may not" in response.json()["detail"]


def test_the_transport_read_nothing_but_protocol_messages(mcp: Mcp) -> None:
    """Over stdio: nothing else was printed on stdout while the models loaded and answered."""
    assert mcp.stray == []
