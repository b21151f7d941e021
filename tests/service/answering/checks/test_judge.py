"""Tests for service.answering.checks.judge: reading the model's verdict, and what the judge is asked."""

from __future__ import annotations

import pytest

from service.answering.checks.citations import resolve_citations
from service.answering.checks.judge import ClaimJudge, Verdict, names_the_claim, parse_verdict
from tests.service.fakes import JUDGE_MARK, ScriptedLLM


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
    ("extracted", "claim", "names"),
    [
        ("Andy Murray", "Andy Murray won in 2013.", True),
        ("andy murray.", "Andy Murray won in 2013.", True),
        ("Andy Murray", "Novak Djokovic won in 2013.", False),
        ("not stated", "Novak Djokovic won in 2013.", False),
        ("Not stated.", "Not stated is a phrase.", False),
        ("", "Anything.", False),
        ("the", "Anything.", False),  # nothing left after normalisation
    ],
)
def test_names_the_claim(extracted: str, claim: str, names: bool) -> None:
    assert names_the_claim(extracted, claim) is names


@pytest.mark.parametrize(
    ("verdict", "extracted", "backs", "calls"),
    [
        ("true", "anything", True, 1),  # a yes is enough: no second question
        ("huh", "anything", True, 1),  # an unreadable verdict is no objection
        ("false", "not stated", False, 2),
        ("unmentioned", "Djokovic", False, 2),
        ("unmentioned", "Andy Murray", True, 2),  # the second opinion overrules a lone no
    ],
)
def test_a_claim_is_rejected_only_when_both_opinions_say_no(
    verdict: str, extracted: str, backs: bool, calls: int
) -> None:
    llm = ScriptedLLM(verdict=verdict, extracted=extracted)
    judge = ClaimJudge(llm).for_question("Who won in 2013?")
    assert judge.backs("Andy Murray won in 2013.", ["Andy Murray won in 2013."]) is backs
    assert len(llm.judge_prompts) == calls
    assert llm.prompts == []


def test_the_extraction_is_asked_once_per_set_of_passages() -> None:
    llm = ScriptedLLM(verdict="unmentioned", extracted="not stated")
    judge = ClaimJudge(llm).for_question("Who won?")
    judge.backs("A won.", ["Text one."])
    judge.backs("B won.", ["Text one."])
    judge.backs("C won.", ["Text two."])
    extractions = [p for p in llm.judge_prompts if JUDGE_MARK not in p]
    assert len(extractions) == 2
    assert "Question: Who won?" in extractions[0]


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
