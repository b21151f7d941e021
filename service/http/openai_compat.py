"""The OpenAI chat-completions shapes, so existing chat front ends and the ``openai`` client work as is.

Citations travel in the message text (``[n]`` markers plus a readable "Sources:" list) and as data in an extra
``citewire`` field (the ``/v1/chat`` response). A stream carries only the verified answer: unbacked sentences are
removed after generation and an OpenAI client cannot take back text already sent, so words are sent once checked.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.answering.chat import Turn
from service.http.schemas import ChatResponse, clean_text
from service.llm.usage import TokenUsage

MODEL_ID = "citewire"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False  # a last chunk, with no choices, carries the request's usage


class OpenAIChatRequest(BaseModel):
    """Fields Citewire uses; the others an OpenAI client sends (temperature, n...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[OpenAIMessage]) -> list[OpenAIMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's question")
        clean_text(messages[-1].text())
        return messages

    def conversation(self) -> tuple[str, list[Turn]]:
        """The question and the earlier user/assistant turns (system prompts do not steer Citewire)."""
        turns = [
            Turn(role=m.role, content=m.text())  # type: ignore[arg-type]
            for m in self.messages
            if m.role in ("user", "assistant") and m.text().strip()
        ]
        return clean_text(self.messages[-1].text()), turns[:-1]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop"]


class PromptTokensDetails(BaseModel):
    cached_tokens: int


class Usage(BaseModel):
    """The tokens of every model call made for the request (rewrite, answer, checks); 0 for a cached answer.

    ``prompt_tokens`` counts each call's whole prompt, ``cached_tokens`` the part of it read from a saved state."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion`` object, plus the ``citewire`` field (the /v1/chat response)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citewire: ChatResponse


class ModelCard(BaseModel):
    """``owned_by`` names the LLM behind Citewire (backend:model, as /healthz does), ``root`` its model file or
    the remote model's name; ``created`` is the model file's time (0 when remote)."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    root: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


def message_text(response: ChatResponse) -> str:
    """The answer followed by a readable list of its sources."""
    if not response.citations:
        return response.answer
    lines = []
    for c in response.citations:
        origin = ", ".join(x for x in (c.source, (c.published_at or "")[:10]) if x)
        lines.append(f'[{c.n}] {c.title}{f" ({origin})" if origin else ""}: "{c.quote}"')
    return response.answer + "\n\nSources:\n" + "\n".join(lines)


def usage(used: TokenUsage | None) -> dict[str, Any]:
    used = used or TokenUsage()
    return {
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.total_tokens,
        "prompt_tokens_details": {"cached_tokens": used.cached_tokens},
    }


def completion(response: ChatResponse, model: str, used: TokenUsage | None) -> dict[str, Any]:
    return {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": message_text(response)},
                "finish_reason": "stop",
            }
        ],
        "usage": usage(used),
        "citewire": response.model_dump(),
    }


def stream_chunks(
    response: ChatResponse, model: str, used: TokenUsage | None = None, words_per_chunk: int = 4
) -> list[dict[str, Any]]:
    """The completion as ``chat.completion.chunk`` objects: role, text in small pieces, then the finish; given
    ``used`` (the client asked for ``stream_options.include_usage``), every chunk has ``usage`` null and a last
    one with no choices carries it, as OpenAI streams do."""
    ident, created = _completion_id(), int(time.time())
    extra = {} if used is None else {"usage": None}

    def chunk(choices: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
            **fields,
        }

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish}]

    words = message_text(response).split(" ")
    pieces = [" ".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
    chunks = [chunk(choice({"role": "assistant", "content": ""}))]
    chunks += [chunk(choice({"content": piece if i == 0 else " " + piece})) for i, piece in enumerate(pieces)]
    chunks.append(chunk(choice({}, "stop"), citewire=response.model_dump()))
    if used is not None:
        chunks.append(chunk([], usage=usage(used)))
    return chunks


def models(owned_by: str, root: str, created: int) -> dict[str, Any]:
    """The one model served: Citewire, over the configured LLM (any name a client sends is accepted)."""
    card = {"id": MODEL_ID, "object": "model", "created": created, "owned_by": owned_by, "root": root}
    return {"object": "list", "data": [card]}


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"
