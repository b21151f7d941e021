"""Answer text in a comparable form: the checks and the evaluation metrics compare answers the same way."""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation) | frozenset("‘’“”–—…«»")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
} | {word: str(10 * tens) for tens, word in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)}


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (lowercase, drop punctuation and a/an/the, collapse whitespace), with
    number words as digits."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_NUMBER_WORDS.get(word, word) for word in _ARTICLES.sub(" ", text).split())
