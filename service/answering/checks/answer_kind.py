"""Expected answer type: does an answer state the kind of thing its question asks for (an amount, a time, a name)?

A sentence can be backed and on topic yet not answer. Questions whose kind is easy to recognise are checked: amounts
need a number (a year is not one), times a date or time word, "who" a name the question does not already hold (a
nationality or party before a common noun names no one). Other questions pass unchecked.
"""

from __future__ import annotations

import re
from enum import StrEnum

from service.answering.normalize import normalize_answer

_AMOUNT_NOUNS = "revenue|price|cost|amount|number|population|magnitude|percentage|toll|salary|fine|budget|value|worth"
_AMOUNT_QUESTION = re.compile(rf"\bhow (many|much)\b|\b(what|which)\b[^?]*\b({_AMOUNT_NOUNS})\b", re.IGNORECASE)
_TIME_QUESTION = re.compile(
    r"^\W*when\b|\b(what|which) (year|date|month|day|time)\b|\bhow (soon|long)\b"
    r"|\b(what|which)\b[^?]{0,40}\bdates?\b",  # "What is the release date of...?"
    re.IGNORECASE,
)

# "Who won ...?", "In 2021, who ...?"; not "Kanye West, who changed his name, is buying which platform?".
_NAME_QUESTION = re.compile(r"^\W*(?:[^?,]*,\s*)?who(?:m|'s)?\b", re.IGNORECASE)
_OTHER_QUESTION_WORD = re.compile(r"\b(which|what)\b", re.IGNORECASE)

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

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# "the Austrian author", "a Democratic ticket": a capitalised adjective of nationality or party that
# describes a common noun names no one.
_DESCRIPTION = re.compile(r"\b(?:[Tt]he|[Aa]n?)\s+[A-Z][a-z]+(?:an|ic|ese|ish)\s+(?=[a-z])")
# Capitalised words that are not names: they open sentences, or are dates.
_NOT_NAMES = frozenset(
    "a an the this that these those it its he she they his her their there here in on at by for of to from "
    "with as and or but according however also yes no both neither either one".split()
)
_DATE_WORD = re.compile(rf"^({_MONTHS}|{_TIME_WORDS})$", re.IGNORECASE)


class AnswerKind(StrEnum):
    AMOUNT = "amount"
    TIME = "time"
    NAME = "name"


def asked_kind(question: str) -> AnswerKind | None:
    """The kind of answer the question asks for, when it is one that can be checked."""
    if _AMOUNT_QUESTION.search(question):
        return AnswerKind.AMOUNT
    if _TIME_QUESTION.search(question):
        return AnswerKind.TIME
    if _NAME_QUESTION.search(question) and not _OTHER_QUESTION_WORD.search(question):
        return AnswerKind.NAME
    return None


def states_kind(answer: str, kind: AnswerKind | None, question: str = "") -> bool:
    """Whether the answer states something of that kind (always true for questions not checked).

    A name must be one the ``question`` does not hold: "Who won the 2020 election?" is not answered by
    "The Democratic ticket won the US Presidential Election 2020"."""
    if kind is AnswerKind.AMOUNT:
        words = normalize_answer(_YEAR.sub(" ", answer).replace("-", " "))  # "forty-two": two number words
        return any(ch.isdigit() for ch in words) or bool(_QUANTITY_WORDS.search(words))
    if kind is AnswerKind.TIME:
        return bool(_TIME.search(answer))
    if kind is AnswerKind.NAME:
        return bool(_new_names(answer, question))
    return True


def _new_names(answer: str, question: str) -> set[str]:
    """Capitalised words of the answer, lowercased, that are no description and not in the question."""
    not_new = _NOT_NAMES | {w.lower() for w in _WORD.findall(question)}
    words = _WORD.findall(_DESCRIPTION.sub(" ", answer))
    return {
        w.lower()
        for w in words
        if w[0].isupper() and len(w) > 1 and w.lower() not in not_new and not _DATE_WORD.match(w)
    }
