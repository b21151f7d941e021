"""The claim judge with the real default model, on passages from RGB (CC BY-NC-SA, written inline
here as short quotes of the search snippets that RGB ships) and on the seed article."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from index.loaders import load_file
from service.judge import ClaimJudge
from service.llm import build_llm
from service.settings import Settings
from tests.conftest import SEED_PATH

pytestmark = pytest.mark.slow

TESLA = "Jul 27, 2021 ... Revenue was stagnant in Q2 2020, with $370 million from that business."
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
        # A business segment's revenue read as the company's: the words are there, the fact is not.
        ("What was Tesla's revenue in Q2 2020?", "Tesla's revenue in Q2 2020 was $370 million.", TESLA),
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
