"""From an answer request to an HTTP reply: queue for the model, then JSON or a Server-Sent Events stream.

Shared by the answering routes (/v1/query, /v1/chat, /v1/chat/completions). Busy and timed-out
generations become 503 / 504 with a JSON ``detail``. A client that leaves stops its generation and
verification, streamed or not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service.answering.budget import PromptTooLong
from service.answering.responder import AnswerRequest, GenerationTimeout, Prepared
from service.answering.schemas import to_query_response
from service.answering.types import Answer
from service.http.schemas import STREAMED, ChatResponse, problems
from service.http.state import AppState
from service.http.streaming import GenerationStream, answer_events, finished
from service.llm.gate import Busy, Stopped

# What the answering routes can answer besides 200: declared in the OpenAPI schema.
ANSWER_RESPONSES = {**STREAMED, **problems(400, 401, 413, 422, 503, 504)}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
T = TypeVar("T")
DISCONNECT_POLL_S = 0.25  # how often a waiting JSON request checks that its client is still there


def check_length(state: AppState, question: str) -> None:
    limit = state.settings.max_question_chars
    if len(question) > limit:
        raise HTTPException(status_code=422, detail=f"question is longer than {limit} characters")


async def prepare(state: AppState, request: AnswerRequest, http: Request) -> Prepared:
    """Retrieval and a place at the model: 503 if none, 422 if the prompt cannot fit, 499 if the client left."""
    return await model_work(http, state.responder.prepare, request)


async def model_work(http: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(*args, stop)`` that waits for the model slot, its refusals as HTTP errors (503, 422, 504, 499)."""
    try:
        return await while_connected(http, work, *args)
    except Busy as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from exc
    except PromptTooLong as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except GenerationTimeout as exc:
        raise HTTPException(status_code=504, detail=str(exc)) from exc
    except Stopped as exc:
        raise _left() from exc


async def run(state: AppState, prepared: Prepared, http: Request) -> Answer:
    """The finished answer; generation and verification stop if the client leaves (499) or time runs out (504)."""
    try:
        answer = await while_connected(http, state.responder.run, prepared, None)
    except GenerationTimeout as exc:
        raise HTTPException(status_code=504, detail=str(exc)) from exc
    if answer is None:
        raise _left()
    return answer


async def while_connected(http: Request, work: Callable[..., T], *args: Any) -> T:
    """``work(*args, stop)`` in a worker thread; ``stop`` is set once the client has gone."""
    stop = threading.Event()
    running = asyncio.ensure_future(run_in_threadpool(work, *args, stop))
    while not running.done():
        await asyncio.wait({running}, timeout=DISCONNECT_POLL_S)
        if not running.done() and await http.is_disconnected():
            stop.set()  # the model is freed at its next token or call, a waiting place at once
    return await running


def _left() -> HTTPException:
    return HTTPException(status_code=499, detail="the client closed the request before the answer was done")


def events(state: AppState, prepared: Prepared) -> AsyncIterator[tuple[str, Any]]:
    """The generation's events ('token', then 'final' or 'error'); a cached answer is one 'final'."""
    if prepared.answer is not None:
        return _single(prepared.answer)
    return GenerationStream(state.responder, prepared).events()


async def _single(answer: Answer) -> AsyncIterator[tuple[str, Any]]:
    yield "final", answer


async def deliver(
    state: AppState, prepared: Prepared, request: Request, stream: bool, shape: Callable[[Answer], Any]
) -> Any:
    """The JSON response, or the SSE stream of it."""
    if not stream:
        return shape(await run(state, prepared, request))
    if prepared.answer is not None:
        return StreamingResponse(finished(prepared.answer, shape), media_type="text/event-stream", headers=SSE_HEADERS)
    stream_events = answer_events(GenerationStream(state.responder, prepared), shape)
    return StreamingResponse(stream_events, media_type="text/event-stream", headers=SSE_HEADERS)


def chat_response(answer: Answer, prepared: Prepared) -> ChatResponse:
    return ChatResponse(**to_query_response(answer).model_dump(), standalone_question=prepared.standalone_question)
