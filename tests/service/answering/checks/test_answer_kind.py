"""checks/answer_kind: which questions ask for an amount, a time or a name, and which answers give one."""

from __future__ import annotations

import pytest

from service.answering.checks.answer_kind import AnswerKind, asked_kind, states_kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many hot dogs did Joey Chestnut eat?", AnswerKind.AMOUNT),
        ("How much loan forgiveness will some borrowers receive?", AnswerKind.AMOUNT),
        ("What was Tesla's revenue in Q1 2021?", AnswerKind.AMOUNT),
        ("What percentage of US adults disapprove of the decision?", AnswerKind.AMOUNT),
        ("When was GPT-3 released?", AnswerKind.TIME),
        ("In what year was OpenAI founded?", AnswerKind.TIME),
        ("How soon could the vaccines be available?", AnswerKind.TIME),
        ("What is the release date for Animal Crossing: New Horizons on Nintendo Switch?", AnswerKind.TIME),
        ("What is the premiere date of The Walking Dead Season 11?", AnswerKind.TIME),
        ("What did the minister say about the update?", None),  # "update" is not "date"
        ("Who won the 2021 US Open?", AnswerKind.NAME),
        ("In 2021, who was named CEO of Twitter?", AnswerKind.NAME),
        ("Which company did Kanye West say he would buy?", None),
        ("Which player who scored twice was sent off?", None),
        ("Kanye West, who changed his name to Ye, is acquiring which platform?", None),
    ],
)
def test_asked_kind(question: str, kind: AnswerKind | None) -> None:
    assert asked_kind(question) is kind


@pytest.mark.parametrize(
    ("answer", "kind", "states"),
    [
        ("Joey Chestnut ate 63 hot dogs.", AnswerKind.AMOUNT, True),
        ("The detention was extended for six months.", AnswerKind.AMOUNT, True),
        ("Fifteen people were arrested.", AnswerKind.AMOUNT, True),
        ("Forty-two people were arrested.", AnswerKind.AMOUNT, True),
        ("Hundreds of people were arrested.", AnswerKind.AMOUNT, True),
        ("Revenue reached $1.2 billion.", AnswerKind.AMOUNT, True),
        ("This quarter was more than double the same quarter in 2020.", AnswerKind.AMOUNT, False),  # a year only
        ("Tesla reported strong revenue.", AnswerKind.AMOUNT, False),
        ("OpenAI released GPT-3 in June 2020.", AnswerKind.TIME, True),
        ("The vaccines could be available as soon as next week.", AnswerKind.TIME, True),
        ("It was released on the Nintendo Switch.", AnswerKind.TIME, False),
        ("Emma Raducanu won it.", None, True),
    ],
)
def test_states_kind(answer: str, kind: AnswerKind | None, states: bool) -> None:
    assert states_kind(answer, kind) is states


@pytest.mark.parametrize(
    ("question", "answer", "states"),
    [
        ("Who was awarded the 2019 Nobel Prize in Literature?", "Peter Handke was awarded the prize.", True),
        ("Who won the 2021 Super Bowl?", "The Buccaneers won it.", True),
        ("Who is the CEO of Tesla?", "The CEO of Tesla is Elon Musk.", True),
        ("Who scored the most points?", "Jordan scored 40 points.", True),  # "Jordan" opens, no "the"
        ("Who won the 2022 World Cup?", "Argentina won the 2022 World Cup.", True),
        # A description names no one: the laureate's snippets were removed.
        ("Who was awarded the 2019 Nobel Prize in Literature?", "The Austrian author was awarded it.", False),
        (
            "Who won the US Presidential Election 2020?",
            "The Democratic ticket won the US Presidential Election 2020.",
            False,
        ),
        ("Who is the CEO of Tesla?", "The CEO of Tesla said so on Monday.", False),  # the question's own names
        ("In 2021, who won the Tour de France?", "He won it in July.", False),
    ],
)
def test_a_who_question_needs_a_name_it_does_not_hold(question: str, answer: str, states: bool) -> None:
    assert states_kind(answer, asked_kind(question), question) is states
