"""Turn the model's ``[n]`` markers into citations: validate, renumber, and attach missing ones.

The model sees sources numbered 1..k. A marker naming no source is removed; the sources actually
cited are renumbered 1..m in order of first mention so the reader's list has no gaps. A sentence
the model left without a marker gets one only when a source plainly contains its words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_MARKER = re.compile(r"\s*\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_REFUSAL = re.compile(
    r"not in (?:the )?sources|(?:sources?|articles?|context|text)s? (?:do(?:es)? not|don't|doesn't) "
    r"(?:contain|mention|say|provide|answer|include|specify)|no information (?:about|on|in)"
    r"|(?:cannot|can't|unable to) (?:be )?(?:answer|determine|find)",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being it its this that these "
    "those he she they them his her their there which who whom what when where why how not no do does did has "
    "have had will would can could should may might also than then so such into about over after before".split()
)
MIN_SUPPORT = 0.6  # share of a sentence's content words a source must contain to be attached


@dataclass(frozen=True)
class CitedAnswer:
    text: str  # the answer with markers renumbered 1..m
    cited: list[int]  # 0-based source indexes; cited[n-1] is the source behind marker [n]


def looks_like_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text)) or not _WORD.search(text)


def content_words(text: str) -> set[str]:
    return {w for w in (m.group().lower() for m in _WORD.finditer(text)) if w not in _STOPWORDS and len(w) > 1}


def split_sentences(text: str) -> list[str]:
    """Sentences of a short answer, each keeping its trailing markers."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _best_source(sentence: str, sources: Sequence[str]) -> int | None:
    words = content_words(_MARKER.sub("", sentence))
    if len(words) < 2:
        return None
    overlaps = [len(words & content_words(src)) / len(words) for src in sources]
    best = max(range(len(sources)), key=overlaps.__getitem__)
    return best if overlaps[best] >= MIN_SUPPORT else None


def _add_marker(sentence: str, index: int) -> str:
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{index + 1}]{stripped[-1]}"
    return f"{stripped} [{index + 1}]"


def resolve_citations(answer: str, sources: Sequence[str]) -> CitedAnswer:
    """Validate, complete and renumber the markers in ``answer`` against ``sources`` (1-based)."""
    sentences = []
    for sentence in split_sentences(answer):
        valid = [int(n) for m in _MARKER.finditer(sentence) for n in re.split(r"[,;]", m.group(1))]
        if not any(1 <= n <= len(sources) for n in valid):
            best = _best_source(sentence, sources)
            if best is not None:
                sentence = _add_marker(_MARKER.sub("", sentence), best)
        sentences.append(sentence)

    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", match.group(1))]
        kept = []
        for n in numbers:
            if 1 <= n <= len(sources):
                if n - 1 not in order:
                    order.append(n - 1)
                kept.append(order.index(n - 1) + 1)
        return " " + "".join(f"[{k}]" for k in dict.fromkeys(kept)) if kept else ""

    text = _MARKER.sub(renumber, " ".join(sentences)).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return CitedAnswer(text=text, cited=order)
