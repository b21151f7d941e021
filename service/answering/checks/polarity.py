"""Polarity: the answer has a name win where its sources have it lose, or hold a post the sources have it hold formerly.

Every word of such a sentence can be in its source, so overlap checks and the claim judge may pass it. Deliberately
narrow: English win/lose verbs right after a name (a name that both wins and loses in the sources is left alone), and
"X is the CEO" against sources that have X only as a former holder, never current ("X was named CEO" is not former).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NAME = r"(?:[A-Z][\w.'’-]*)(?:\s+(?:de|van|von|da|del|[A-Z][\w.'’-]*))*"
_WON = re.compile(rf"\b({_NAME})\s+(?:has\s+|had\s+)?(?:won|wins|claimed|clinched|captured|took)\b")
_AFTER_NAME = r"(?:\s*,[^,.]{0,40},)?\s+"  # "Serena Williams, 37, lost ..."
_LOST = r"(?:has\s+|had\s+)?(?:lost|loses|fell|was\s+(?:defeated|beaten)|were\s+(?:defeated|beaten)|finished\s+second)"
_WINS = r"(?:has\s+|had\s+)?(?:won|wins|beat|beats|defeated|defeats|claimed|clinched|captured)"
_WORD = re.compile(r"[A-Za-z]{4,}")
_REACH = 120  # characters after "X lost" that may name what was lost


# A name holding a post now, in the sentence: "Tim Cook is the CEO of Apple", "The CEO of Apple is Tim Cook".
_HOLDS = re.compile(rf"\b({_NAME})\s+is\s+(?:now\s+)?(?:the|an?)\s+(?:current\s+)?([^.;]{{3,80}})")
_HELD_BY = re.compile(rf"\b[Tt]he\s+(?:current\s+)?([^.;]{{3,80}}?)\s+is\s+(?:now\s+)?({_NAME})")
_PAST_REACH = 80  # characters of the post after "former" / "was the"
_POST_WORD = re.compile(r"[A-Za-z]{3,}")  # "CEO" is a post
_POST_STOPWORDS = frozenset("the and for with from that this who which when".split())


def contradicts(sentence: str, sources: Sequence[str]) -> bool:
    """Whether the sentence says the opposite of its sources: a win they have as a loss, or a post held
    now that they have as held before."""
    return _won_what_they_lost(sentence, sources) or _holds_what_they_held(sentence, sources)


def _holds_what_they_held(sentence: str, sources: Sequence[str]) -> bool:
    """Whether the sentence has a name hold a post that the sources have the name hold only formerly."""
    claims = [(m.group(1), m.group(2)) for m in _HOLDS.finditer(sentence)]
    claims += [(m.group(2), m.group(1)) for m in _HELD_BY.finditer(sentence)]
    for name, post in claims:
        surname = name.split()[-1].rstrip(".'’")  # "... is Sepp Blatter."
        post_words = _post_words(post)
        if len(surname) < 3 or not post_words:
            continue
        named = rf"\b{re.escape(surname)}\b"
        former = rf"(?:[Ff]ormer\s+|[Ee]x-|[Oo]netime\s+|[Tt]he\s+late\s+)([^.;]{{0,{_PAST_REACH}}}?){named}"
        held = rf"{named}(?:,\s+(?:the\s+|a\s+)?(?:former|onetime|then)|\s+(?:was|had\s+been)\s+(?:the|an?))\s+"
        current = (
            rf"{named},?\s+(?:is|remains|serves\s+as|has\s+been)\s+|(?:current|new|incoming)\s+[^.;]{{0,40}}?{named}"
        )
        past = any(
            post_words & _post_words(text)
            for source in sources
            for text in [m.group(1) for m in re.finditer(former, source)]
            + [source[m.end() : m.end() + _PAST_REACH] for m in re.finditer(held, source)]
        )
        if past and not any(re.search(current, source) for source in sources):
            return True
    return False


def _post_words(text: str) -> set[str]:
    """The words naming a post ("CEO", "president", "Nintendo"), lowercased; at least three letters."""
    return {w.lower() for w in _POST_WORD.findall(text)} - _POST_STOPWORDS


def _won_what_they_lost(sentence: str, sources: Sequence[str]) -> bool:
    """Whether the sentence has a name win something that the sources have the name lose, and never win.

    "Something" is matched loosely: the words after "lost" must share one with the words after "won"
    ("the 2019 U.S. Open final" / "the women's singles U.S. Open"), so "the Democrats lost the Senate"
    does not contradict "the Democrats won the election"."""
    for match in _WON.finditer(sentence):
        surname = match.group(1).split()[-1]
        if len(surname) < 3:
            continue
        prize = _words(sentence[match.end() :])
        name = rf"\b{re.escape(surname)}\b{_AFTER_NAME}"
        lost = any(
            prize & _words(source[found.end() : found.end() + _REACH])
            for source in sources
            for found in re.finditer(name + _LOST + r"\b", source)
        )
        if lost and not any(re.search(name + _WINS + r"\b", source) for source in sources):
            return True
    return False


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}
