"""Is the evidence about the year the question asks about?

A question that names a year is anchored to it. Asked "Who won the World Cup Final in 2014?" with
the 2014 snippets removed, the default model answered from a snippet about Spain's 2010 win ("The win
gave Spain their first World Cup title [1]"), and asked for the 2014 runner-up it read "Netherlands"
off a statistics table of the 2010 final. Each sentence was true to its snippet and named no year, so
no name or number check could object: the snippet was about another year. So an answer to a question
naming a year must cite at least one article that mentions one of those years (in its text, headline
or publication date); otherwise Citewire abstains. One year of several is enough ("the 2021-2022
season" is often written "2022"). A year after "since" does not count ("the youngest finalist since
2018" on a page about 2022). A page that mentions the year only in passing (a review date) still
passes: this catches evidence about another year, not every misreading.

The answer itself can give the other year away: asked who won the British Open in 2020 with the 2020
snippets removed, the model wrote "Hinako Shibuno of Japan won the 2019 Women's British Open golf
[1]", cited from a page that mentions 2020 elsewhere. An answer that names years, none of them one
the question names, is about another year too (a season "2021-22" names both of its years).

Since such evidence can only end in an abstention, retrieval puts it last: among the passages found
for a question naming a year, those whose article mentions the year are shown to the model first.
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
