"""Spell out acronyms in an answer with the full name the cited article itself uses.

News copy names an organisation once ("the Financial Times") and abbreviates it after that ("FT").
A small model tends to copy the abbreviation; readers deserve the name. The expansion comes only
from the cited article's own text, never from the model's knowledge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
_CAPITALISED_RUN = re.compile(r"(?:[A-Z][\w'’-]*)(?:\s+(?:[A-Z][\w'’-]*))+")


def _full_name(acronym: str, texts: Iterable[str]) -> str | None:
    """The first run of capitalised words in the texts whose initials spell the acronym."""
    for text in texts:
        for match in _CAPITALISED_RUN.finditer(text):
            words = match.group().split()
            for i in range(len(words) - len(acronym) + 1):
                candidate = words[i : i + len(acronym)]
                title_case = all(not w.isupper() for w in candidate)  # "ALSO IN" is a heading
                if title_case and "".join(w[0] for w in candidate) == acronym:
                    return " ".join(candidate)
    return None


def expand_acronyms(answer: str, article_texts: Iterable[str], question: str = "") -> str:
    """Write "Full Name (ACR)" at the first use of each acronym the articles spell out."""
    texts = list(article_texts)
    done: set[str] = set()
    for match in list(_ACRONYM.finditer(answer)):
        acronym = match.group()
        if acronym in done or acronym in question:
            continue
        done.add(acronym)
        name = _full_name(acronym, texts)
        if name and name not in answer:
            answer = re.sub(rf"\b{acronym}\b", f"{name} ({acronym})", answer, count=1)
    return answer
