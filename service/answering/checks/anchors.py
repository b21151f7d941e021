"""Year anchoring: an answer to a question that names a year must rest on evidence about that year.

A sentence true to its snippet can still come from another year's story, which no name or number check notices. So
the cited articles must mention a year the question names (text, headline or date; "since 2018" does not count), the
answer must not name only other years, and retrieval shows passages that mention the year first (``year_first``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

_T = TypeVar("_T")

_YEAR = re.compile(r"\b(?:1[89]|20)\d{2}\b")
# A year before a name is an edition of it: "the 2019 Women's British Open", "the 2010 World Cup".
_EDITION = re.compile(r"\b((?:1[89]|20)\d{2})\s+((?:(?:[A-Z][\w'’.-]*|(?:wo)?men's)\s?){1,4})")
_WORD = re.compile(r"[A-Za-z]{3,}")
# "the youngest finalist since 2018" is not about 2018: a page about 2022 said it, and the model answered
# the 2018 question from it. Nor is "CEO since 2011" an answer about 2011.
_SINCE_YEAR = re.compile(r"\b[Ss]ince\s+(?:1[89]|20)\d{2}\b")
_SEASON = re.compile(r"\b((?:1[89]|20)\d{2})\s*[-–/]\s*(\d{2}|(?:1[89]|20)\d{2})\b")  # "2021-22", "2021–2022"


def years_written(text: str) -> set[str]:
    """The four-digit years written in ``text`` ("2018", "1998"); decades ("the 2010s") do not count."""
    return set(_YEAR.findall(text))


def question_years(question: str) -> set[str]:
    """The years the question names, a season's second year too ("2021-22" names 2022)."""
    years = years_written(question)
    for first, second in _SEASON.findall(question):
        years.add(second if len(second) == 4 else first[:2] + second)
    return years


def speaks_of_year(question: str, evidence: Iterable[str]) -> bool:
    """Whether one of the evidence texts mentions a year the question names (true if it names none)."""
    years = question_years(question)
    if not years:
        return True
    return any(_mentions(years, text) for text in evidence)


def names_another_year(question: str, answer: str) -> bool:
    """Whether the answer is about another year than the question's (false if the question names none).

    So it is when it names years and none is the question's, or when it names the question's event
    with another year before it ("won the 2019 Women's British Open ... in 2020", asked of 2020)."""
    years = question_years(question)
    if not years:
        return False
    said = question_years(_SINCE_YEAR.sub(" ", answer))  # a season "2019-20" in the answer names 2020 too
    if said and not (years & said):
        return True
    asked = {word.lower() for word in _WORD.findall(question)}
    return any(
        year not in years and asked & {word.lower() for word in _WORD.findall(name)}
        for year, name in _EDITION.findall(answer)
    )


def year_first(question: str, items: Iterable[_T], text_of: Callable[[_T], str]) -> list[_T]:
    """``items`` in their order, those whose text mentions a year the question names moved ahead of the rest.

    A stable partition, not a filter: a passage that never writes the year (a snippet saying only
    "in PyeongChang") is still shown when there is room."""
    items = list(items)
    years = question_years(question)
    if not years:
        return items
    anchored = [_mentions(years, text_of(item)) for item in items]
    return [item for item, a in zip(items, anchored, strict=True) if a] + [
        item for item, a in zip(items, anchored, strict=True) if not a
    ]


def _mentions(years: set[str], text: str) -> bool:
    return bool(years & years_written(_SINCE_YEAR.sub(" ", text)))
