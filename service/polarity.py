"""Does the source say the named side lost, where the answer says it won?

The commonest misreading of sports news by the default model: from "Serena Williams lost to Bianca
Andreescu on Saturday in the 2019 U.S. Open women's singles final" it wrote "Serena Williams won the
women's singles U.S. Open in 2019 [1]". Every word of that sentence is in the passage, and the claim
judge, asked twice, agreed with it. The contradiction is plain in the words, though: the sentence has
its subject win, and the source has the same name lose and never win. Such a sentence is not backed.

Deliberately narrow: English verbs of winning and losing right after a name, and a name that both
wins and loses somewhere in the sources ("lost in 2018 but won in 2019") is left alone.
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


def contradicts(sentence: str, sources: Sequence[str]) -> bool:
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
