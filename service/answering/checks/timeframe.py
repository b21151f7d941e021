"""How far back a question about the present week reaches, once the day it is asked (``filters.as_of``) is known.

An answer true to an older story about a similar event is still wrong. A question placing its event in the present
week ("this week", "on Tuesday", "yesterday") is answered only from articles published within a window before that day;
undated articles stay; a named year sets no window, nor do "latest" or "recently" (the latest news may be months old).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from index.filters import published_day
from service.answering.checks.anchors import question_years

_T = TypeVar("_T")

_THIS_WEEK = re.compile(
    r"\b(?:(?:this|last|past|this past) week(?:end)?|(?:recent|past|last) (?:few |several |two |three )?days"
    r"|today|tonight|yesterday|last night|this morning)\b",
    re.IGNORECASE,
)
# A weekday with no date is this week's, in news ("announced on Tuesday"); a capitalised word after it
# makes it a name ("Sunday Night Football"), so weekdays are matched case-sensitively.
_DAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_WEEKDAY = re.compile(rf"\b(?:on {_DAY}\b(?!\s+[A-Z])|{_DAY} (?:morning|afternoon|evening|night)\b)")


def speaks_of_this_week(question: str) -> bool:
    """Whether the question places its event in the days before it was asked (and names no year)."""
    said = _THIS_WEEK.search(question) or _WEEKDAY.search(question)
    return bool(said) and not question_years(question)


def within_window(
    question: str, as_of: date | None, window_days: int, items: Iterable[_T], published_of: Callable[[_T], str | None]
) -> list[_T]:
    """``items`` without those published more than ``window_days`` before ``as_of``, for a question
    about this week; all of them when the day is unknown, the window is 0, or the question is not."""
    kept = list(items)
    if as_of is None or window_days <= 0 or not speaks_of_this_week(question):
        return kept
    oldest = as_of.toordinal() - window_days
    return [item for item in kept if (day := published_day(published_of(item))) is None or day >= oldest]
