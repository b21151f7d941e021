"""The claim judge with the real default model, on passages from RGB (CC BY-NC-SA, written inline
here as short quotes of the search snippets that RGB ships) and on the seed article."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from index.loaders import load_file
from service.answering.checks.judge import ClaimJudge
from service.llm.backends import build_llm
from service.settings import Settings
from tests.conftest import SEED_PATH

pytestmark = pytest.mark.slow

WALTER_CAMP = (
    "Please note: Appearing on the preseason Watch List is not a requirement for a player to win the "
    "Walter Camp award or be named to the All-America ..."
)
HEISMAN = (
    "Heisman Trophy Winners: D. Henry, B. Sanders, R. Williams, T. Dorsett, T. Tebow ... "
    "All-Americans: A. Cooper, J. Clowney, L. Kuechly, L. Fitzgerald, ..."
)


@pytest.fixture(scope="module")
def judge() -> Iterator[ClaimJudge]:
    yield ClaimJudge(build_llm(Settings()))


@pytest.mark.parametrize(
    ("question", "claim", "passage"),
    [
        # The award's namesake given as its winner: the names are there, the fact is not.
        (
            "Who is the Walter Camp Award winner in 2017?",
            "The Walter Camp Award winner in 2017 is Walter Camp, who was named to the All-America team.",
            WALTER_CAMP,
        ),
        # A list of past winners, none of them tied to the year asked about.
        ("Who is the Heisman Trophy winner in 2012?", "D. Henry is the Heisman Trophy winner in 2012.", HEISMAN),
    ],
)
def test_claims_the_passage_does_not_state_are_rejected(
    judge: ClaimJudge, question: str, claim: str, passage: str
) -> None:
    assert judge.for_question(question).backs(claim, [passage]) is False


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Which AI model does Alibaba own?", "Alibaba owns the AI model Qwen 2.5-Max."),
        ("Who did Donald Trump meet in South Korea?", "Donald Trump met Chinese President Xi Jinping in South Korea."),
    ],
)
def test_claims_the_article_states_are_kept(judge: ClaimJudge, question: str, claim: str) -> None:
    article = next(load_file(SEED_PATH))
    sentence = next(s for s in article.text.split("\n") if claim.split()[-1].rstrip(".") in s)
    assert judge.for_question(question).backs(claim, [sentence]) is True
