"""The model's answer read as claims: each stretch of text and the evidence ids cited after it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from prompts import load_prompt

_CLAIM = re.compile(r"(?P<text>[^\[\]]+?)\s*(?P<cites>(?:\[\s*\d+(?:\s*,\s*\d+)*\s*\]\s*)+)(?P<end>[.。!?！？]?)")
_ID = re.compile(r"\d+")


@dataclass(frozen=True)
class Claim:
    text: str  # as the model wrote it, without markers
    cited: tuple[int, ...]  # evidence ids it cites that exist, in order, without repeats


def is_refusal(raw: str) -> bool:
    """The model's fixed reply for "the evidence does not answer this" (prompts/refusal.txt)."""
    return load_prompt("refusal").lower() in raw.lower() or not re.search(r"\w", raw)


def read_claims(raw: str, n_evidence: int) -> list[Claim]:
    """Claims in order; text after the last marker is a claim citing nothing.

    Ids outside 1..``n_evidence`` are dropped (llama.cpp's grammar never writes them; other backends may)."""
    claims: list[Claim] = []
    pos = 0
    for match in _CLAIM.finditer(raw):
        if raw[pos : match.start()].strip():
            claims.append(Claim(_clean(raw[pos : match.start()]), ()))
        ids = [int(i) for i in _ID.findall(match.group("cites"))]
        cited = tuple(dict.fromkeys(i for i in ids if 1 <= i <= n_evidence))
        text = _clean(match.group("text") + match.group("end"))
        if text:
            claims.append(Claim(text, cited))
        pos = match.end()
    tail = _clean(raw[pos:])
    if tail and re.search(r"\w", tail):
        claims.append(Claim(tail, ()))
    return claims


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ,;")
