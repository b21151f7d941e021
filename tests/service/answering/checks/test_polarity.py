"""Tests for service.answering.checks.polarity: a sentence whose sources have its winner lose is contradicted."""

from __future__ import annotations

import pytest

from service.answering.checks.citations import resolve_citations
from service.answering.checks.polarity import contradicts

ANDREESCU = (
    "Sep 7, 2019 ... Serena Williams lost to Bianca Andreescu on Saturday in the 2019 U.S. Open women's singles final."
)


@pytest.mark.parametrize(
    ("sentence", "sources", "contradicted"),
    [
        ("Serena Williams won the women's singles U.S. Open in 2019.", [ANDREESCU], True),
        ("Bianca Andreescu won the women's singles U.S. Open in 2019.", [ANDREESCU], False),
        ("Nadal won the final.", ["Nadal, 33, lost the final in five sets."], True),
        ("Nadal won in 2019.", ["Nadal lost in 2018 but Nadal won in 2019."], False),  # wins somewhere too
        ("The Democrats won the election.", ["The Democrats lost the Senate."], False),  # lost something else
        ("Spain won the World Cup Final in 2010.", ["Spain beat the Netherlands 1-0 in the final."], False),
        ("France was defeated.", ["France lost the final."], False),  # the sentence claims no win
    ],
)
def test_contradicts(sentence: str, sources: list[str], contradicted: bool) -> None:
    assert contradicts(sentence, sources) is contradicted


def test_a_winner_the_source_has_lose_is_not_cited() -> None:
    """The README's example: every word is in the passage, the claim is its opposite."""
    question = "Who won the women's singles U.S. Open in 2019?"
    wrong = resolve_citations("Serena Williams won the women's singles U.S. Open in 2019 [1].", question, [ANDREESCU])
    assert wrong.cited == [] and not wrong.checked[0].supported
    right = resolve_citations("Bianca Andreescu won the women's singles U.S. Open in 2019 [1].", question, [ANDREESCU])
    assert right.cited == [0]


BLATTER = (
    "Nov 9, 2022 ... Sepp Blatter, the former president of FIFA when Qatar was awarded the 2022 World Cup hosting "
    "rights in 2010, told Swiss newspaper Tages-Anzeiger it was a mistake."
)
SUCCEEDED = "Gianni Infantino succeeded former FIFA president Sepp Blatter."
IWATA = "Satoru Iwata was the global president and CEO of Nintendo and a gifted programmer who played a key role."


@pytest.mark.parametrize(
    ("sentence", "sources", "contradicted"),
    [
        ("The president of FIFA is Sepp Blatter.", [BLATTER], True),
        ("Satoru Iwata is the CEO of Nintendo in 2021.", [IWATA], True),
        ("Sepp Blatter is the president of FIFA.", [SUCCEEDED], True),
        ("Gianni Infantino is the president of FIFA.", [SUCCEEDED], False),
        ("Tim Cook is the CEO of Apple.", ["Tim Cook is the CEO of Apple and its former COO."], False),  # says "is" too
        ("Sundar Pichai is the CEO of Google.", ["Sundar Pichai was named CEO of Google in 2015."], False),  # became
        ("Andy Murray is the champion.", ["Former world No. 1 Andy Murray won the final."], False),  # another post
        ("Travis Kalanick is the CEO of Uber.", ["Uber's ex-CEO Travis Kalanick sold his shares."], True),
        ("Sepp Blatter is the president of FIFA.", ["Former FIFA president Sepp Blatter spoke."], True),
        ("Tim Cook is the CEO of Apple.", ["Apple shares rose late Thursday as CEO Tim Cook spoke."], False),  # a time
        ("Sepp Blatter spoke to a newspaper.", [BLATTER], False),  # holds no post in the sentence
    ],
)
def test_a_post_held_now_is_contradicted_by_sources_that_only_have_it_held_before(
    sentence: str, sources: list[str], contradicted: bool
) -> None:
    assert contradicts(sentence, sources) is contradicted


def test_a_former_holder_is_not_cited_as_the_current_one() -> None:
    question = "Who is the president of the FIFA?"
    wrong = resolve_citations("The president of FIFA is Sepp Blatter [1].", question, [BLATTER])
    assert wrong.cited == [] and not wrong.checked[0].supported
