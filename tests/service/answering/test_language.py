"""The question's language is named for the answer prompt, or left to the model when unsure."""

import pytest

from service.answering.language import UNNAMED, answer_language


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("В чём Вашингтон обвиняет эту компанию?", "Russian"),
        ("新大桥有多长？", "Chinese"),
        ("Qui a gagné le match de samedi?", "French"),
        ("Which newspaper reviewed the White House memo?", "English"),
    ],
)
def test_the_question_language_is_named(question: str, name: str) -> None:
    assert answer_language(question, 0.4) == name


def test_an_unsure_guess_is_left_to_the_model() -> None:
    assert answer_language("Who won?", 0.4) == UNNAMED
    assert answer_language("Which newspaper reviewed the White House memo?", 1.0) == UNNAMED
