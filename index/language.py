"""Language identification for articles (langdetect, seeded so results are repeatable)."""

from __future__ import annotations

import json
import math
import unicodedata
from functools import cache
from importlib import resources

from langdetect import DetectorFactory, LangDetectException, detect

DetectorFactory.seed = 0
_MIN_LETTERS = 20
# A letter this frequent in a language is one of its own; rarer ones cost up to _FOREIGN (absent from its profile).
_COMMON = 1e-3
_FOREIGN = 3.0
# Punctuation that sits inside words in real text (apostrophes, hyphens), and a symbol that touches them ("25°C").
_IN_WORD = frozenset("'’‐‑-.·")
_BY_WORD = frozenset("°")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's main language, or None when there is too little text to tell."""
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return None
    try:
        return str(detect(text))
    except LangDetectException:
        return None


def foreign_letters(text: str, lang: str) -> float:
    """How foreign a text's non-ASCII characters are to a language: 0 when all are its common letters.

    Tells apart readings of the same bytes in different code pages ("niño" against "ni–o" in Spanish):
    a rare or unknown letter costs up to 3, and so do punctuation inside a word and a symbol touching one.
    """
    frequencies = _letter_frequencies(lang)
    cost = 0.0
    for i, ch in enumerate(text):
        if ch.isascii():
            continue
        if ch.isalpha():
            frequency = max(frequencies.get(ch, 0.0), frequencies.get(ch.lower(), 0.0))
            if frequency < _COMMON:
                cost += min(_FOREIGN, math.log10(_COMMON / frequency)) if frequency else _FOREIGN
            continue
        if _stuck_in_word(text, i):
            cost += _FOREIGN
    return cost


def _stuck_in_word(text: str, i: int) -> bool:
    """Punctuation inside a word ("ni–o"), or a symbol touching one ("½uvres"): signs of a wrong code page."""
    ch, category = text[i], unicodedata.category(text[i])
    before = i > 0 and text[i - 1].isalpha()
    after = i + 1 < len(text) and text[i + 1].isalpha()
    if category.startswith("P"):
        return before and after and ch not in _IN_WORD
    return (category.startswith("S") or category == "No") and (before or after) and ch not in _BY_WORD


@cache
def _letter_frequencies(lang: str) -> dict[str, float]:
    """Single-character frequencies from langdetect's profile of the language (it keeps those above 1e-4)."""
    try:
        profile = json.loads((resources.files("langdetect") / "profiles" / lang).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    total = profile["n_words"][0]
    return {gram: count / total for gram, count in profile["freq"].items() if len(gram) == 1}
