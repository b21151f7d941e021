"""The OpenAI-compatible surface: /v1/chat/completions (stream or not) and /v1/models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from service.answering.responder import AnswerRequest, Prepared
from service.http import openai_compat
from service.http.auth import GuardedRoute
from service.http.delivery import ANSWER_RESPONSES, SSE_HEADERS, chat_response, check_length, events, prepare, run
from service.http.schemas import problems
from service.http.state import State, require_reader
from service.llm.usage import TokenUsage

router = APIRouter(tags=["openai"], dependencies=[Depends(require_reader)], route_class=GuardedRoute)


@router.post("/v1/chat/completions", response_model=openai_compat.ChatCompletion, responses=ANSWER_RESPONSES)
async def chat_completions(body: openai_compat.OpenAIChatRequest, state: State, http: Request) -> Any:
    """OpenAI-compatible chat completions (stream or not); citations in the text and in ``citewire``."""
    question, history = body.conversation()
    check_length(state, question)
    prepared = await prepare(state, AnswerRequest(question, history), http)
    if not body.stream:
        answer = await run(state, prepared, http)
        return openai_compat.completion(chat_response(answer, prepared), body.model, answer.usage)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    chunks = _chunks(events(state, prepared), prepared, body.model, include_usage)
    return StreamingResponse(chunks, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/v1/models", response_model=openai_compat.ModelList, responses=problems(401))
def list_models(state: State) -> dict[str, Any]:
    """The one model /v1/chat/completions answers as (any name a client sends is accepted), and the LLM behind it."""
    settings, llm = state.settings, state.engine.llm
    model_path = getattr(llm, "model_path", None)  # a local GGUF (llama.cpp)
    try:
        created = int(Path(model_path).stat().st_mtime) if model_path else 0
    except OSError:
        created = 0
    return openai_compat.models(f"{settings.llm_backend}:{settings.llm_model}", llm.metadata.model_name, created)


async def _chunks(
    stream: AsyncIterator[tuple[str, Any]], prepared: Prepared, model: str, include_usage: bool
) -> AsyncIterator[str]:
    """OpenAI stream chunks of the checked answer; while the model writes, SSE comments keep the line open."""
    async for kind, data in stream:
        if kind == "token":
            yield ": generating\n\n"  # a comment: keeps the connection alive, clients skip it
        elif kind == "final":
            used = (data.usage or TokenUsage()) if include_usage else None
            for chunk in openai_compat.stream_chunks(chat_response(data, prepared), model, used):
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
        else:
            yield f"data: {json.dumps({'error': {'message': data, 'type': 'server_error'}})}\n\n"
    yield "data: [DONE]\n\n"
