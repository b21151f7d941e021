"""What answering needs from a model, and an adapter that gives it from any LlamaIndex LLM.

llama.cpp (``service.llm.backends.LlamaCppChat``) has both natively: generation read on from a saved prompt
prefix under a grammar, and label probabilities from one forward pass. Other backends (an
OpenAI-compatible server, a test's scripted LLM) go through ``ChatAdapter``: a plain chat call, no
grammar (the claim reader drops ids that name nothing), and the reply's first word as a 0/1 label.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import LLM

from service.llm.backends import stream_deltas

_FIRST_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class AnswerModel(Protocol):
    def stream_prefixed(
        self,
        messages: Sequence[ChatMessage],
        prefix_until: str,
        grammar: str | None = None,
        max_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[str]: ...

    def label_probabilities(
        self, messages: Sequence[ChatMessage], prefix_until: str, labels: Sequence[str]
    ) -> dict[str, float]: ...


class ChatAdapter:
    """``AnswerModel`` over a LlamaIndex ``LLM`` that only chats."""

    def __init__(self, llm: LLM, synonyms: dict[str, str] | None = None) -> None:
        self.llm = llm
        self.synonyms = synonyms or {}

    def stream_prefixed(
        self,
        messages: Sequence[ChatMessage],
        prefix_until: str,
        grammar: str | None = None,
        max_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        yield from stream_deltas(self.llm, messages, max_tokens, should_stop)

    def label_probabilities(
        self, messages: Sequence[ChatMessage], prefix_until: str, labels: Sequence[str]
    ) -> dict[str, float]:
        reply = self.llm.chat(messages, max_tokens=4).message.content or ""
        match = _FIRST_WORD.search(reply.lower())
        word = match.group() if match else ""
        word = self.synonyms.get(word, word)
        return {label: 1.0 if word == label else 0.0 for label in labels}


def answer_model(llm: LLM) -> AnswerModel:
    """The LLM itself when it has the prefix-cached calls, else a chat adapter over it."""
    if isinstance(llm, AnswerModel):
        return llm
    return ChatAdapter(llm, synonyms={"yes": "true", "no": "false", "unknown": "unmentioned"})
