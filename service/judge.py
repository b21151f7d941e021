"""A second opinion on each answer sentence: does the cited text state it?

Lexical checks pass a sentence whose words are all in the source but whose meaning is not ("Serena
Williams won the 2019 U.S. Open" from "Serena Williams lost to Bianca Andreescu in the 2019 U.S. Open
final"). So the same local model is asked, in a separate short call, whether the claim is true, false
or not mentioned according to the cited passages. Asked "does the text support this? yes/no", the
1.5B default model said yes to every claim; the three-way question separates them (measured on RGB,
docs/EVALUATION.md). An answer it does not understand keeps the sentence: the lexical check already
passed it, and a garbled verdict is no evidence against it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import LLM

from prompts import load_prompt

_FIRST_WORD = re.compile(r"[A-Za-z]+")


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


class ClaimJudge:
    """Asks the LLM whether the passages state a claim; ``backs`` is what the verifier calls."""

    def __init__(self, llm: LLM, max_tokens: int = 4) -> None:
        self._llm = llm
        self._max_tokens = max_tokens

    def verdict(self, claim: str, passages: Sequence[str]) -> Verdict:
        text = "\n\n".join(" ".join(p.split()) for p in passages)
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=load_prompt("judge_system")),
            ChatMessage(role=MessageRole.USER, content=load_prompt("judge_user").format(passages=text, claim=claim)),
        ]
        response = self._llm.chat(messages, max_tokens=self._max_tokens)
        return parse_verdict(response.message.content or "")

    def backs(self, claim: str, passages: Sequence[str]) -> bool:
        return self.verdict(claim, passages) in (Verdict.TRUE, Verdict.UNCLEAR)
