"""Sentence-aware chunking sized in the embedder's own tokens, with exact character offsets.

Each chunk is a run of whole sentences (a sentence longer than the budget is cut at token
boundaries), and ``text[chunk.start:chunk.end] == chunk.text`` always holds, so a citation can
point at the exact span of the stored article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import llama_index.core
import nltk
from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTokenizer

_LINE = re.compile(r"[^\n]+")


def _load_sentence_splitter() -> PunktSentenceTokenizer:
    """English Punkt parameters from the data LlamaIndex ships in its wheel (no download).

    The trained model knows abbreviations such as "U.S." that the untrained one splits on.
    """
    bundled = str(Path(llama_index.core.__file__).parent / "_static" / "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)
    try:
        return PunktTokenizer("english")
    except LookupError:
        return PunktSentenceTokenizer()


_punkt = _load_sentence_splitter()


class TokenCounter(Protocol):
    """What chunking needs from a tokenizer: counts and token end offsets, without special tokens."""

    def count(self, texts: Sequence[str]) -> list[int]: ...

    def token_ends(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    n_tokens: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets; lines are never joined, so headings and paragraphs stay apart."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        for start, end in _punkt.span_tokenize(line.group()):
            if text[base + start : base + end].strip():
                spans.append((base + start, base + end))
    return spans


def _split_long(text: str, span: tuple[int, int], max_tokens: int, counter: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most ``max_tokens`` tokens, at token ends."""
    start, end = span
    ends = counter.token_ends(text[start:end])
    pieces: list[tuple[int, int]] = []
    piece_start = start
    for i in range(max_tokens - 1, len(ends) - 1, max_tokens):
        cut = start + ends[i]
        while cut < end and text[cut] not in " \n\t" and cut > piece_start:
            cut += 1  # finish the word the token belonged to
        pieces.append((piece_start, cut))
        piece_start = cut
        while piece_start < end and text[piece_start].isspace():
            piece_start += 1
    if piece_start < end:
        pieces.append((piece_start, end))
    return [p for p in pieces if p[1] > p[0]]


def chunk_text(text: str, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """Pack sentences into chunks of at most ``max_tokens`` tokens, repeating up to ``overlap_tokens``."""
    if overlap_tokens >= max_tokens:
        raise ValueError("overlap_tokens must be smaller than max_tokens")
    spans = sentence_spans(text)
    counts = counter.count([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for span, n in zip(spans, counts, strict=True):
        if n <= max_tokens:
            units.append((span[0], span[1], n))
        else:
            pieces = _split_long(text, span, max_tokens, counter)
            units.extend((s, e, c) for (s, e), c in zip(pieces, counter.count([text[s:e] for s, e in pieces]), strict=True))

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][2] <= max_tokens):
            total += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(index=len(chunks), start=start, end=end, text=text[start:end], n_tokens=total))
        if j >= len(units):
            break
        k, overlap = j, 0
        while k - 1 > i and overlap + units[k - 1][2] <= overlap_tokens:
            overlap += units[k - 1][2]
            k -= 1
        i = k
    return chunks
