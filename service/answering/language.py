"""The question's language, named in the answer prompt.

The 1.5B default model ignores "in the language of the question" but follows "Write the answer in
Russian.", so the engine names the language. langid.py's model (py3langid) identifies short questions
well, and Babel gives the language's English name. Too little confidence leaves the choice to the model.
"""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError
from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNNAMED = "the language of the question"


def answer_language(question: str, min_confidence: float) -> str:
    """English name of the question's language ("Russian"), or ``UNNAMED`` when unsure."""
    code, probability = _identifier().classify(question)
    if probability < min_confidence:
        return UNNAMED
    try:
        return str(Locale.parse(code).get_display_name("en"))
    except (UnknownLocaleError, ValueError):
        return UNNAMED


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
