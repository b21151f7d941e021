"""Does an answer state the kind of thing the question asks for: an amount, or a time?

A sentence can be backed by its passage and about the question's subject, yet not answer it: asked
"What was Tesla's revenue in Q1 2021?", the default model wrote "This quarter was more than double
what Tesla brought in during the same quarter in 2020 [1]", true to a passage that gives no figure.
Questions of two kinds are easy to recognise and their answers easy to check (the "expected answer
type" of classic question answering): amounts ("how many", "how much", "what was the revenue") need
a number, and times ("when", "what year", "what is the release date", "how soon") need a date or a
time word. Other questions are not checked. A year is not an amount: "in 2020" does not say how much.
"""

from __future__ import annotations

import re
from enum import StrEnum

from service.evaluation.metrics import normalize_answer

_AMOUNT_NOUNS = "revenue|price|cost|amount|number|population|magnitude|percentage|toll|salary|fine|budget|value|worth"
_AMOUNT_QUESTION = re.compile(rf"\bhow (many|much)\b|\b(what|which)\b[^?]*\b({_AMOUNT_NOUNS})\b", re.IGNORECASE)
_TIME_QUESTION = re.compile(
    r"^\W*when\b|\b(what|which) (year|date|month|day|time)\b|\bhow (soon|long)\b"
    r"|\b(what|which)\b[^?]{0,40}\bdates?\b",  # "What is the release date of...?"
    re.IGNORECASE,
)

_YEAR = re.compile(r"\b(1[89]|20)\d{2}s?\b")
# Number words ("six", "fifteen", "forty") become digits by the scorer's own normalisation; these are the rest.
_QUANTITY_WORDS = re.compile(r"\b(dozens?|hundreds?|thousands?|millions?|billions?|trillions?|half|few|several)\b")
_MONTHS = (
    "jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?|oct(ober)?|nov(ember)?"
    "|dec(ember)?"
)
_TIME_WORDS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|yesterday|days?|weeks?"
    "|weekend|months?|years?|decades?|century|spring|summer|autumn|fall|winter|morning|evening|night|soon|now"
    "|immediately|next|last|ago|later|earlier"
)
_TIME = re.compile(rf"\d|\b({_MONTHS}|{_TIME_WORDS})\b", re.IGNORECASE)


class AnswerKind(StrEnum):
    AMOUNT = "amount"
    TIME = "time"


def asked_kind(question: str) -> AnswerKind | None:
    """The kind of answer the question asks for, when it is one that can be checked."""
    if _AMOUNT_QUESTION.search(question):
        return AnswerKind.AMOUNT
    if _TIME_QUESTION.search(question):
        return AnswerKind.TIME
    return None


def states_kind(answer: str, kind: AnswerKind | None) -> bool:
    """Whether the answer states something of that kind (always true for questions not checked)."""
    if kind is AnswerKind.AMOUNT:
        words = normalize_answer(_YEAR.sub(" ", answer).replace("-", " "))  # "forty-two": two number words
        return any(ch.isdigit() for ch in words) or bool(_QUANTITY_WORDS.search(words))
    if kind is AnswerKind.TIME:
        return bool(_TIME.search(answer))
    return True
