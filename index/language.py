"""Language identification for articles (langdetect, seeded so results are repeatable)."""

from __future__ import annotations

from langdetect import DetectorFactory, LangDetectException, detect

DetectorFactory.seed = 0
_MIN_LETTERS = 20


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's main language, or None when there is too little text to tell."""
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return None
    try:
        return str(detect(text))
    except LangDetectException:
        return None
