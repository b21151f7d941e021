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


class OpenAIChatRequest(BaseModel):
    """Fields Citewire uses; the others an OpenAI client sends (temperature, n...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=200)
    stream: bool = False

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


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


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
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


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


def completion(response: ChatResponse, model: str) -> dict[str, Any]:
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
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citewire": response.model_dump(),
    }


def stream_chunks(response: ChatResponse, model: str, words_per_chunk: int = 4) -> list[dict[str, Any]]:
    """The completion as ``chat.completion.chunk`` objects: role, text in small pieces, then the finish."""
    ident, created = _completion_id(), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
            **extra,
        }

    words = message_text(response).split(" ")
    pieces = [" ".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece if i == 0 else " " + piece}) for i, piece in enumerate(pieces)]
    chunks.append(chunk({}, "stop", citewire=response.model_dump()))
    return chunks


def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "citewire"}]}


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"
