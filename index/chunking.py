"""Sentence-aware chunking sized in the embedder's own tokens, with exact character offsets.

Each chunk is a run of whole sentences (a sentence longer than the budget is cut at token
boundaries), and ``text[chunk.start:chunk.end] == chunk.text`` always holds, so a citation can
point at the exact span of the stored article.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import llama_index.core
import nltk
from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTokenizer

_LINE = re.compile(r"[^\n]+")
# Abbreviations Punkt's English model lacks: titles and months that never end a sentence...
_EXTRA_ABBREVIATIONS = {"gov", "sgt", "dept", "approx", "mar", "apr", "jun", "jul"}
# ...and those that end one unless a number follows ("No. 1", "Vol. 3"; but "Voters said no.").
_BEFORE_NUMBER = re.compile(r"\b(?:no|nos|vol|fig|pp)\.$", re.IGNORECASE)
# Full-width sentence ends (Chinese, Japanese), which Punkt's English model does not know; closing
# quotes and brackets after them stay with the sentence.
_FULL_WIDTH_END = re.compile(r"[。！？]+[」』”’）)]*")


def _load_sentence_splitter() -> PunktSentenceTokenizer:
    """English Punkt parameters from the data LlamaIndex ships in its wheel (no download).

    The trained model knows abbreviations such as "U.S." that the untrained one splits on.
    """
    bundled = str(Path(llama_index.core.__file__).parent / "_static" / "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)
    try:
        splitter: PunktSentenceTokenizer = PunktTokenizer("english")
    except LookupError:
        splitter = PunktSentenceTokenizer()
    splitter._params.abbrev_types.update(_EXTRA_ABBREVIATIONS)
    return splitter


_punkt = _load_sentence_splitter()


@runtime_checkable
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


def _is_invisible(sentence: str) -> bool:
    """True for text made only of whitespace and format characters (U+200B, U+2060, soft hyphen...).

    ``str.strip`` keeps format characters, yet they carry no words and usually no tokens: as a
    sentence of their own they would only make empty, zero-token units.
    """
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in sentence)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets; lines are never joined, so headings and paragraphs stay apart."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        line_spans: list[tuple[int, int]] = []
        for start, end in _punkt.span_tokenize(line.group()):
            if (
                line_spans
                and _BEFORE_NUMBER.search(text[line_spans[-1][0] : line_spans[-1][1]])
                and text[start + base].isdigit()
            ):
                line_spans[-1] = (line_spans[-1][0], base + end)  # "world No. 1" is one sentence
            else:
                line_spans.append((base + start, base + end))
        for span in line_spans:
            spans.extend(s for s in _split_full_width(text, span) if not _is_invisible(text[s[0] : s[1]]))
    return spans


def _split_full_width(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """``span`` cut after each full-width sentence end inside it, leading spaces left out."""
    start, end = span
    out: list[tuple[int, int]] = []
    for match in _FULL_WIDTH_END.finditer(text, start, end):
        if match.end() < end:
            out.append((start, match.end()))
            start = match.end()
            while start < end and text[start].isspace():
                start += 1
    out.append((start, end))
    return [s for s in out if s[0] < s[1]]


def _cut_before(text: str, piece_start: int, cut: int, end: int) -> int:
    """Where a piece that may end at token end ``cut`` ends, so that words stay whole when they can.

    At ``cut`` if a word ends there, else at the last whitespace inside the piece, else at ``cut``
    itself (text without spaces, such as Chinese, or one very long word). Never past ``cut``: going
    on to the end of the word could overshoot the budget by a whole word's tokens.
    """
    if cut >= end or text[cut].isspace():
        return cut
    for k in range(cut - 1, piece_start, -1):
        if text[k].isspace():
            while text[k - 1].isspace():
                k -= 1
            return k
    return cut


def _split_long(text: str, span: tuple[int, int], max_tokens: int, counter: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most ``max_tokens`` tokens each.

    Candidate cuts are the token ends of one tokenisation of the whole sentence; each piece is
    recounted on its own and shortened by a token while it is over budget, because a word cut in
    the middle can tokenise differently out of context.
    """
    start, end = span
    cuts = sorted({start + e for e in counter.token_ends(text[start:end]) if 0 < e <= end - start})
    pieces: list[tuple[int, int]] = []
    piece_start = start
    while piece_start < end:
        first = bisect.bisect_right(cuts, piece_start)  # the first token ending inside this piece
        for budget in range(max_tokens, 0, -1):
            last = first + budget - 1
            cut = end if last >= len(cuts) - 1 else _cut_before(text, piece_start, cuts[last], end)
            if counter.count([text[piece_start:cut]])[0] <= max_tokens:
                break
        else:  # a tiny budget that even one token of a cut word exceeds on its own ("##ets" -> "et", "##s")
            cut = piece_start + 1
        pieces.append((piece_start, cut))
        piece_start = cut
        while piece_start < end and text[piece_start].isspace():
            piece_start += 1
    return pieces


def _overlap_start(units: Sequence[tuple[int, int, int]], i: int, j: int, max_tokens: int, overlap_tokens: int) -> int:
    """Index of the unit that starts the chunk after ``units[i:j]``: earlier than ``j`` to repeat overlap.

    The trailing units that fit in ``overlap_tokens`` are repeated, and none at all when it is 0
    (not even units of 0 tokens). The overlap is dropped when unit ``j`` would not fit beside it:
    the next chunk would hold only the repeated units, a chunk contained in the previous one.
    """
    if overlap_tokens <= 0:
        return j
    k, overlap = j, 0
    while k - 1 > i and overlap + units[k - 1][2] <= overlap_tokens:
        overlap += units[k - 1][2]
        k -= 1
    if overlap + units[j][2] > max_tokens:
        return j
    return k


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
            units.extend(
                (s, e, c) for (s, e), c in zip(pieces, counter.count([text[s:e] for s, e in pieces]), strict=True)
            )

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
        i = _overlap_start(units, i, j, max_tokens, overlap_tokens)
    return chunks
