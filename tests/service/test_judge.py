"""Tests for service.judge: reading the model's verdict, and what the judge is asked."""

from __future__ import annotations

import pytest

from service.citations import resolve_citations
from service.judge import ClaimJudge, Verdict, parse_verdict
from tests.service.fakes import ScriptedLLM


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("true", Verdict.TRUE),
        ("True.", Verdict.TRUE),
        (" false", Verdict.FALSE),
        ("False - the text says she lost.", Verdict.FALSE),
        ("unmentioned", Verdict.UNMENTIONED),
        ("Not mentioned", Verdict.UNMENTIONED),
        ("Unknown.", Verdict.UNMENTIONED),
        ("", Verdict.UNCLEAR),
        ("The claim is true", Verdict.UNCLEAR),  # only the first word counts
        ("42", Verdict.UNCLEAR),
    ],
)
def test_parse_verdict(reply: str, verdict: Verdict) -> None:
    assert parse_verdict(reply) is verdict


def test_the_judge_is_asked_about_one_claim_against_the_passages() -> None:
    llm = ScriptedLLM(verdict="false")
    judge = ClaimJudge(llm)
    assert judge.verdict("Serena Williams won.", ["Serena Williams lost\\n to   Andreescu.", "Other text."]) is (
        Verdict.FALSE
    )
    (prompt,) = llm.judge_prompts
    assert "Claim: Serena Williams won." in prompt
    assert "Serena Williams lost\\n to Andreescu." in prompt and "Other text." in prompt
    assert llm.prompts == []


@pytest.mark.parametrize(
    ("verdict", "backs"), [("true", True), ("huh", True), ("false", False), ("unmentioned", False)]
)
def test_backs_rejects_only_false_and_unmentioned(verdict: str, backs: bool) -> None:
    assert ClaimJudge(ScriptedLLM(verdict=verdict)).backs("A claim.", ["A text."]) is backs


def test_the_verifier_asks_the_judge_only_about_lexically_backed_sentences() -> None:
    asked: list[tuple[str, list[str]]] = []

    def judge(claim: str, passages: list[str]) -> bool:
        asked.append((claim, list(passages)))
        return "lost" not in claim

    sources = ["Serena Williams lost to Bianca Andreescu in the 2019 final.", "Rain fell in Paris."]
    answer = "Serena Williams lost to Bianca Andreescu [1]. Serena Williams won in 2019 [1]. Jack Ma runs Alibaba [2]."
    cited = resolve_citations(answer, "Who won the 2019 final?", sources, judge=judge)
    # The third sentence fails the lexical check before the judge is asked; the first one the judge rejects.
    assert [claim for claim, _ in asked] == [
        "Serena Williams lost to Bianca Andreescu.",
        "Serena Williams won in 2019.",
    ]
    assert all(passages == [sources[0]] for _, passages in asked)
    assert [c.supported for c in cited.checked] == [False, True, False]
    assert cited.text == "Serena Williams won in 2019 [1]."
