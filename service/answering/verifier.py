"""The verifier: how well the cited evidence sentences support a claim, as a score in [0, 1].

The answering model gets a short prompt with only the claim and its sentences (prompts/verify_*.txt), and the
probabilities of "true", "false" and "unmentioned" are read from its first token's logits. Nothing is generated, and
the graded score lets one threshold, fitted on tuning data, decide. It reads whatever languages the model reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from prompts import load_prompt
from service.answering.model import AnswerModel

LABELS = ("true", "false", "unmentioned")  # the prompt's three replies
_PREFIX_END = "Evidence:\n"  # everything up to here is the same for every claim (prompts/*_user.txt)


@dataclass(frozen=True)
class Support:
    score: float  # P("true"): the evidence states the claim
    contradiction: float  # P("false"): the evidence says otherwise


class Verifier:
    """``prompt`` names the pair of prompt files (``<prompt>_system``, ``<prompt>_user``): "verify" for answers'
    claims, "check" for claims checked against the articles (prompts/check_*.txt, with worked examples)."""

    def __init__(self, model: AnswerModel, prompt: str = "verify") -> None:
        self.model = model
        self.prompt = prompt

    def support(self, claim: str, evidence: Sequence[str]) -> Support:
        """How well ``evidence`` (the cited sentences) supports ``claim``."""
        if not evidence:
            return Support(0.0, 0.0)
        user = load_prompt(f"{self.prompt}_user").format(
            evidence="\n".join(f"- {' '.join(e.split())}" for e in evidence), claim=claim
        )
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=load_prompt(f"{self.prompt}_system")),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        p = self.model.label_probabilities(messages, _PREFIX_END, LABELS)
        return Support(score=p["true"], contradiction=p["false"])
