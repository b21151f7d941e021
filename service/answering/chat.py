"""Conversations: turning a follow-up ("and how did the company respond?") into a standalone question.

Retrieval sees one question, so a follow-up must carry its own subject. Rewriting costs a model call
(seconds on this CPU), so it is skipped when the question already stands alone: the first question
of a conversation, and any question without the words follow-ups lean on (pronouns, "the company",
a leading "and"/"what about", or only a few words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM

from prompts import load_prompt
from service.answering.checks.citations import strip_markers
from service.llm.backends import stream_deltas

_REFERRING = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|then|"
    r"former|latter|same|such|the (company|firm|group|country|government|report|memo|article|story|"
    r"deal|man|woman|president|minister))\b",
    re.IGNORECASE,
)
_CONTINUES = re.compile(r"^\s*(and|but|also|so|or|what about|how about|why not|really)\b", re.IGNORECASE)
_FEW_WORDS = 3
_HISTORY_MESSAGES = 6  # the last turns that go into the rewrite prompt
_TURN_CHARS = 400  # each turn is cut to this many characters in that prompt


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


def needs_rewrite(question: str, history: Sequence[Turn]) -> bool:
    """True when ``question`` probably leans on earlier turns of the conversation."""
    if not any(turn.role == "user" for turn in history):
        return False
    return len(question.split()) <= _FEW_WORDS or bool(_CONTINUES.search(question)) or bool(_REFERRING.search(question))


def standalone_question(llm: LLM, history: Sequence[Turn], question: str) -> str:
    """The question rewritten by the model to stand alone; the question itself if the reply is unusable."""
    conversation = "\n".join(
        f"{turn.role.capitalize()}: {_clip(strip_markers(turn.content))}" for turn in history[-_HISTORY_MESSAGES:]
    )
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content=load_prompt("condense_system")),
        ChatMessage(
            role=MessageRole.USER,
            content=load_prompt("condense_user").format(conversation=conversation, question=question),
        ),
    ]
    reply = "".join(stream_deltas(llm, messages, 96)).strip()  # streamed: a client's leaving stops it at a token
    return _clean(reply, question)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TURN_CHARS else text[: _TURN_CHARS - 1] + "…"


def _clean(reply: str, question: str) -> str:
    """First line of the reply without labels or quotes; the original when it is empty or rambles."""
    line = reply.splitlines()[0].strip() if reply else ""
    line = re.sub(r"^(rewritten|standalone)?\s*question\s*:\s*", "", line, flags=re.IGNORECASE).strip(" \"'`")
    if not line or len(line) > 3 * len(question) + 200:
        return question
    return line
