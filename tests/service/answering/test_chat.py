"""Follow-up detection and the rewrite's clean-up (service.answering.chat)."""

from __future__ import annotations

import pytest

from service.answering.chat import Turn, _clean, needs_rewrite

HISTORY = [Turn("user", "Which company did the White House accuse?"), Turn("assistant", "Alibaba [1].")]


@pytest.mark.parametrize(
    "question",
    [
        "How did the company respond?",
        "And the Chinese embassy?",
        "What did they deny?",
        "Why not?",
        "When was it published?",
        "What about Tencent?",
        "Who else?",
    ],
)
def test_follow_ups_are_rewritten(question: str) -> None:
    assert needs_rewrite(question, HISTORY)


@pytest.mark.parametrize(
    "question",
    [
        "Which newspaper reviewed the White House memo?",
        "Why did Washington accuse Alibaba of helping the Chinese military?",
        "Which AI model does Alibaba own?",
    ],
)
def test_questions_that_stand_alone_are_not(question: str) -> None:
    assert not needs_rewrite(question, HISTORY)


def test_the_first_question_is_never_rewritten() -> None:
    assert not needs_rewrite("How did the company respond?", [])
    assert not needs_rewrite("And they?", [Turn("assistant", "Hello, ask me about the news.")])


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("How did Alibaba respond?", "How did Alibaba respond?"),
        ('Rewritten question: "How did Alibaba respond?"\nIt denied.', "How did Alibaba respond?"),
        ("", "How did the company respond?"),
        ("x" * 1000, "How did the company respond?"),
    ],
)
def test_the_rewrite_is_cleaned_or_dropped(reply: str, expected: str) -> None:
    assert _clean(reply, "How did the company respond?") == expected
