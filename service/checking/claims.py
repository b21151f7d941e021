"""A text to check, cut into claims: its sentences, with their offsets in the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.chunking import sentence_spans

_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class ClaimSpan:
    text: str  # == checked text[start:end]
    start: int
    end: int


class UncheckableText(ValueError):
    """More claims than one check may verify (each costs model calls), or a claim too long for the verifier."""


def split_claims(text: str, max_claims: int, max_chars: int) -> list[ClaimSpan]:
    """The text's sentences that hold a word, in order; ``UncheckableText`` past the limits."""
    claims = [_trimmed(text, s, e) for s, e in sentence_spans(text) if _WORD.search(text[s:e])]
    if len(claims) > max_claims:
        raise UncheckableText(f"the text holds {len(claims)} claims (sentences); one check takes at most {max_claims}")
    if long := next((c for c in claims if len(c.text) > max_chars), None):
        raise UncheckableText(f"the claim at offset {long.start} is longer than {max_chars} characters")
    return claims


def _trimmed(text: str, start: int, end: int) -> ClaimSpan:
    """The span without the spaces around it (a line's indentation is not part of its claim)."""
    piece = text[start:end]
    start += len(piece) - len(piece.lstrip())
    end -= len(piece) - len(piece.rstrip())
    return ClaimSpan(text[start:end], start, end)
