"""Questions in, cited answers out: /v1/query, /v1/chat, and /v1/search (the passages alone)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request

from citewire.schemas import QueryResponse, SearchResponse
from service.answering.chat import Turn
from service.answering.responder import AnswerRequest
from service.answering.schemas import to_query_response, to_search_response
from service.answering.types import Answer
from service.http.auth import GuardedRoute
from service.http.delivery import ANSWER_RESPONSES, chat_response, check_length, deliver, prepare
from service.http.schemas import ChatRequest, ChatResponse, QueryRequest, SearchRequest, problems
from service.http.state import State, require_reader

router = APIRouter(tags=["answers"], dependencies=[Depends(require_reader)], route_class=GuardedRoute)


@router.post("/v1/query", response_model=QueryResponse, responses=ANSWER_RESPONSES)
async def query(body: QueryRequest, state: State, http: Request) -> Any:
    """Answer a question from the indexed articles, with [n] markers and their citations.

    With ``"stream": true``: Server-Sent Events, 'token' events as the model writes, then one
    'final' event holding this same response, checked (the streamed words are the model's draft)."""
    check_length(state, body.question)
    where = body.filters.to_filter() if body.filters is not None else None
    request = AnswerRequest(body.question, top_k=body.top_k, where=where, choices=body.choices or ())
    prepared = await prepare(state, request, http)
    return await deliver(state, prepared, http, body.stream, lambda answer: to_query_response(answer).model_dump())


@router.post("/v1/chat", response_model=ChatResponse, responses=ANSWER_RESPONSES)
async def chat(body: ChatRequest, state: State, http: Request) -> Any:
    """Answer the last question of a conversation; a follow-up is first rewritten to stand alone.

    ``standalone_question`` tells what was searched. ``"stream": true`` works as on /v1/query."""
    question = body.messages[-1].content
    check_length(state, question)
    where = body.filters.to_filter() if body.filters is not None else None
    history = [Turn(role=m.role, content=m.content) for m in body.messages[:-1]]
    prepared = await prepare(state, AnswerRequest(question, history, body.top_k, where), http)

    def shape(answer: Answer) -> dict[str, Any]:
        return chat_response(answer, prepared).model_dump()

    return await deliver(state, prepared, http, body.stream, shape)


@router.post("/v1/search", response_model=SearchResponse, responses=problems(400, 401, 413, 422))
def search(body: SearchRequest, state: State) -> SearchResponse:
    """The passages an answer would be drawn from, best first, without asking the model.

    Runs beside generation, never queued behind it: retrieval takes milliseconds."""
    check_length(state, body.question)
    where = body.filters.to_filter() if body.filters is not None else None
    started = time.perf_counter()
    passages = state.engine.find_passages(body.question, body.top_k, where)
    return to_search_response(passages, (time.perf_counter() - started) * 1000)
