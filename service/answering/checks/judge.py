"""The claim judge: a second opinion from the local model on whether the cited passages state an answer sentence.

Lexical checks pass sentences whose words are in the source but whose meaning is not. The model is asked if the claim
is true, false or unmentioned there (three-way, not yes/no) and, unless true, to answer the question from them; a
sentence is rejected only when both say no (either alone misjudges right answers); an unreadable reply is no objection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM

from prompts import load_prompt
from service.answering.normalize import normalize_answer

_FIRST_WORD = re.compile(r"[A-Za-z]+")
_NOT_STATED = ("not stated", "not mentioned", "text does not", "unknown")


class Verdict(StrEnum):
    TRUE = "true"
    FALSE = "false"
    UNMENTIONED = "unmentioned"
    UNCLEAR = "unclear"  # the model's reply was none of the three


def parse_verdict(reply: str) -> Verdict:
    """The verdict named by the reply's first word ("True.", "unmentioned", "False - the text...")."""
    match = _FIRST_WORD.search(reply)
    word = match.group().lower() if match else ""
    if word in ("not", "unmentioned", "unknown", "neither"):
        return Verdict.UNMENTIONED
    return Verdict(word) if word in (Verdict.TRUE, Verdict.FALSE) else Verdict.UNCLEAR


def names_the_claim(extracted: str, claim: str) -> bool:
    """Whether a short extracted answer is what the claim says (its words all occur in the claim)."""
    lowered = extracted.strip().lower()
    words = normalize_answer(extracted).split()
    if not words or any(lowered.startswith(p) for p in _NOT_STATED):
        return False
    claim_words = set(normalize_answer(claim).split())
    return all(w in claim_words for w in words[:6])


class ClaimJudge:
    """Asks the LLM about claims against their cited passages; see the module docstring."""

    def __init__(self, llm: LLM, max_tokens: int = 24) -> None:
        self._llm = llm
        self._max_tokens = max_tokens

    def _ask(self, prompt: str, max_tokens: int, **fields: str) -> str:
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=load_prompt(f"{prompt}_system")),
            ChatMessage(role=MessageRole.USER, content=load_prompt(f"{prompt}_user").format(**fields)),
        ]
        return self._llm.chat(messages, max_tokens=max_tokens).message.content or ""

    def verdict(self, claim: str, passages: Sequence[str]) -> Verdict:
        return parse_verdict(self._ask("judge", 4, passages=_joined(passages), claim=claim))

    def extract(self, question: str, passages: Sequence[str]) -> str:
        return self._ask("judge_extract", self._max_tokens, passages=_joined(passages), question=question).strip()

    def for_question(self, question: str) -> QuestionJudge:
        return QuestionJudge(self, question)


class QuestionJudge:
    """The judge for one question's answer: ``backs(claim, passages)`` is what the verifier calls."""

    def __init__(self, judge: ClaimJudge, question: str) -> None:
        self._judge = judge
        self._question = question
        self._extracted: dict[tuple[str, ...], str] = {}  # one extraction per set of passages

    def backs(self, claim: str, passages: Sequence[str]) -> bool:
        if self._judge.verdict(claim, passages) in (Verdict.TRUE, Verdict.UNCLEAR):
            return True
        key = tuple(passages)
        if key not in self._extracted:
            self._extracted[key] = self._judge.extract(self._question, passages)
        return names_the_claim(self._extracted[key], claim)


def _joined(passages: Sequence[str]) -> str:
    return "\n\n".join(" ".join(p.split()) for p in passages)
