"""The MCP server's tools and resources, over the same code paths as the HTTP API.

Each tool runs what its route runs: ``search`` and ``get_passage`` call the route functions themselves, ``ask``
goes through the ``Responder`` under the generation gate (its queue, deadline and slot rules) and
``to_query_response``, ``check`` through ``state.checker``. A tool's result carries the route's response model as
``structuredContent`` (citations with their exact spans) and a readable rendering of it as text. What a route
would refuse with a 4xx (unknown article, bad offsets, too long a question, a busy model) comes back as a tool
error with the same message.

The loaded parts (``AppState``) are the server's lifespan context: the running app's, or the ones ``citewire mcp``
loads (``service.mcp.stdio``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from functools import partial
from typing import Annotated, Any, TypeVar, cast

import anyio.to_thread
from fastapi import HTTPException
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, ListResourcesResult, Resource, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from citewire.schemas import CheckResponse, PassageOut, QueryResponse, SearchResponse
from service.answering.budget import PromptTooLong
from service.answering.responder import AnswerRequest, GenerationTimeout, Responder
from service.answering.schemas import to_query_response
from service.answering.types import Answer
from service.checking.claims import UncheckableText
from service.http.delivery import check_length
from service.http.routes import answers, articles
from service.http.schemas import CheckRequest, QueryFilters, QueryRequest, SearchRequest
from service.http.state import AppState
from service.llm.gate import Busy, Stopped
from service.mcp import render

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)
Lifespan = Callable[[MCPServer[AppState]], AbstractAsyncContextManager[AppState]]

ARTICLE_URI = "citewire://articles/{article_id}"
PAGE_SIZE = 100  # articles per page of resources/list
INSTRUCTIONS = (
    "Citewire answers from indexed news articles and cites every claim down to the exact characters: a citation's "
    "quote is the article's text[start:end]. ask: a cited answer; search: the passages alone, without the model; "
    "check: which sentences of a text the articles support or contradict; get_passage: the text around a cited "
    f"span. The resource {ARTICLE_URI} holds an article's whole text, the text the offsets point into."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Question = Annotated[str, Field(min_length=1, max_length=100_000, description="The question, in plain language.")]
TopK = Annotated[int | None, Field(ge=1, le=20, description="Passages to retrieve (default: the server's setting).")]
Filters = Annotated[QueryFilters | None, Field(description="Only some articles: every field given must hold.")]


def build_server(lifespan: Lifespan) -> MCPServer[AppState]:
    """The Citewire MCP server; ``lifespan`` provides the loaded parts while it runs."""
    with _root_logging_left_alone():
        server: MCPServer[AppState] = MCPServer(
            "citewire",
            title="Citewire",
            instructions=INSTRUCTIONS,
            version="0.1.0",
            lifespan=lifespan,
            middleware=[list_articles],
        )
    for tool in (search, ask, check, get_passage):
        server.add_tool(tool, annotations=READ_ONLY)
    server.resource(
        ARTICLE_URI,
        name="article",
        title="Article",
        description="A stored article: its metadata and its whole text, the text citation offsets point into.",
        mime_type="application/json",
    )(read_article)
    return server


async def search(
    question: Question, ctx: Context, top_k: TopK = None, filters: Filters = None
) -> Annotated[CallToolResult, SearchResponse]:
    """The passages an answer would be drawn from, best first, each one the article's text[start:end].

    Retrieval only: fast, never queued behind the model."""
    body = _valid(SearchRequest, question=question, top_k=top_k, filters=filters)
    found = await _in_thread(answers.search, body, _state(ctx))
    return _result(found, render.search(found))


async def ask(
    question: Question, ctx: Context, top_k: TopK = None, filters: Filters = None
) -> Annotated[CallToolResult, QueryResponse]:
    """Answer a question from the indexed articles, with [n] markers and their citations (article_id, title, url,
    and the quote with its start and end offsets in the article's text).

    Waits for the model like POST /v1/query: a busy model or a passed deadline is an error saying so."""
    state = _state(ctx)
    body = _valid(QueryRequest, question=question, top_k=top_k, filters=filters)
    _refused_as_tool_error(check_length, state, body.question)
    where = body.filters.to_filter() if body.filters is not None else None
    answer = await _model_work(_answer, state.responder, AnswerRequest(body.question, top_k=body.top_k, where=where))
    response = to_query_response(answer)
    return _result(response, render.answer(response))


async def check(
    text: Annotated[
        str, Field(min_length=1, max_length=100_000, description="The text to check; each sentence is a claim.")
    ],
    ctx: Context,
    filters: Filters = None,
) -> Annotated[CallToolResult, CheckResponse]:
    """Check each claim (sentence) of a text against the articles: supported, contradicted or unmentioned, with the
    exact sentences (article_id, start, end) that support or contradict it.

    Waits for the model like POST /v1/check."""
    state = _state(ctx)
    body = _valid(CheckRequest, text=text, filters=filters)
    where = body.filters.to_filter() if body.filters is not None else None
    checked = await _model_work(state.checker.check, body.text, where)
    return _result(checked, render.check(checked))


async def get_passage(
    article_id: Annotated[str, Field(min_length=1, max_length=128, description="The cited article's id.")],
    start: Annotated[int, Field(ge=0, description="Start offset of the cited span.")],
    end: Annotated[int, Field(ge=1, description="End offset (exclusive) of the cited span.")],
    ctx: Context,
    context: Annotated[int, Field(ge=0, le=5000, description="Characters of context around it.")] = 300,
) -> Annotated[CallToolResult, PassageOut]:
    """Open the exact passage behind a citation: the quote (the article's text[start:end]) with the text around it."""
    passage = await _in_thread(articles.get_passage, article_id, _state(ctx), start, end, context)
    return _result(passage, render.passage(passage))


async def read_article(article_id: str, ctx: Context) -> str:
    """citewire://articles/{article_id}: the article as GET /v1/articles/{id} gives it (JSON)."""
    try:
        detail = await anyio.to_thread.run_sync(articles.get_article, article_id, _state(ctx))
    except HTTPException as exc:
        raise ResourceNotFoundError(str(exc.detail)) from None
    return detail.model_dump_json()


async def list_articles(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """resources/list: the stored articles, newest first, ``PAGE_SIZE`` a page (the cursor is the next offset).

    Middleware, because the SDK's own listing is of resources registered up front, without pages."""
    result = await call_next(ctx)  # the SDK's checks (initialized, valid params) and its empty listing
    if ctx.method != "resources/list" or ctx.request_id is None:
        return result
    cursor = (ctx.params or {}).get("cursor")
    if cursor is not None and not (isinstance(cursor, str) and cursor.isdigit()):
        raise MCPError(code=INVALID_PARAMS, message=f"not a cursor this server gave: {str(cursor)[:80]!r}")
    offset = int(cursor or 0)
    state: AppState = ctx.lifespan_context
    page = await anyio.to_thread.run_sync(partial(articles.list_articles, state, offset=offset, limit=PAGE_SIZE))
    resources = [
        Resource(
            uri=ARTICLE_URI.format(article_id=a.id),
            name=a.id,
            title=a.title,
            description=render.article_line(a),
            mime_type="application/json",
        )
        for a in page.articles
    ]
    more = offset + len(page.articles) < page.total
    return ListResourcesResult(resources=resources, next_cursor=str(offset + PAGE_SIZE) if more else None)


def _answer(responder: Responder, request: AnswerRequest, stop: threading.Event) -> Answer:
    """Retrieve, wait for the model, generate, verify: both steps in one worker thread, so the slot ``prepare``
    takes is always given back by ``run``, even when the call is cancelled in between."""
    answer = responder.run(responder.prepare(request, stop), None, stop)
    if answer is None:
        raise Stopped()  # only once ``stop`` is set: the call was cancelled and nobody reads this
    return answer


async def _model_work(work: Callable[..., T], *args: Any) -> T:
    """``work(*args, stop)`` in a worker thread; the model's refusals as tool errors, as the routes' 503/422/504.

    A cancelled call (the client cancelled or went away) sets ``stop``: the model is freed at its next token,
    a waiting place at once, as when an HTTP client leaves."""
    stop = threading.Event()
    try:
        return await anyio.to_thread.run_sync(partial(work, *args, stop), abandon_on_cancel=True)
    except Busy as exc:
        raise ToolError(f"{exc}; try again in {exc.retry_after_s} s") from None
    except (PromptTooLong, GenerationTimeout, UncheckableText) as exc:
        raise ToolError(str(exc)) from None
    finally:
        stop.set()


async def _in_thread(route: Callable[..., T], *args: Any) -> T:
    """A route function run as it is (it reads the store: blocking), its HTTP refusals as tool errors."""
    return await anyio.to_thread.run_sync(partial(_refused_as_tool_error, route, *args))


def _refused_as_tool_error(route: Callable[..., T], *args: Any) -> T:
    try:
        return route(*args)
    except HTTPException as exc:
        raise ToolError(str(exc.detail)) from None


def _valid(model: type[R], **fields: Any) -> R:
    """The arguments checked by the route's own request model (blank or unstorable text, filter dates, ids)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ToolError(problems) from None


def _result(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json")
    )


def _state(ctx: Context) -> AppState:
    return cast(AppState, ctx.request_context.lifespan_context)


@contextmanager
def _root_logging_left_alone() -> Iterator[None]:
    """``MCPServer()`` calls ``logging.basicConfig`` (a handler at INFO on the root logger); how the process logs is
    uvicorn's and ``citewire``'s to decide, so the root logger holds a placeholder handler meanwhile."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeHandler(placeholder)
