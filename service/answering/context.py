"""Context assembly: which retrieved chunks the model sees, and in what shape.

``assemble`` takes ranked chunks best first, at most ``max_per_article`` per article while others wait (one story must
not crowd out the one holding the answer; free slots then go to skipped chunks), merging an article's touching chunks
so no words are sent twice. ``widen`` adds neighbouring sentences within a token budget: boundaries cut off who or when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from index.chunking import TokenCounter, sentence_spans
from service.answering.types import Passage


def assemble(ranked: Iterable[Passage], k: int, max_per_article: int) -> list[Passage]:
    """Up to ``k`` passages from ``ranked`` (best first), diverse across articles, overlaps merged."""
    chosen: list[Passage] = []
    skipped: list[Passage] = []
    per_article: Counter[str] = Counter()
    for passage in ranked:
        article_id = passage.article.article.id
        if per_article[article_id] >= max_per_article and _touching(chosen, passage) is None:
            skipped.append(passage)
            continue
        if _place(chosen, passage, k):
            per_article[article_id] += 1
    for passage in skipped:
        _place(chosen, passage, k)
    return chosen


def _place(chosen: list[Passage], passage: Passage, k: int) -> bool:
    """Merge into a touching passage, or add if there is room; True only when a new slot was used."""
    neighbour = _touching(chosen, passage)
    if neighbour is not None:
        chosen[neighbour] = _merge(chosen[neighbour], passage)
        return False
    if len(chosen) < k:
        chosen.append(passage)
        return True
    return False


def _touching(chosen: Sequence[Passage], passage: Passage) -> int | None:
    for i, other in enumerate(chosen):
        same = (
            other.article.article.id == passage.article.article.id and other.article.version == passage.article.version
        )
        if same and passage.start <= other.end and other.start <= passage.end:
            return i
    return None


def _merge(kept: Passage, extra: Passage) -> Passage:
    start, end = min(kept.start, extra.start), max(kept.end, extra.end)
    return replace(
        kept,
        start=start,
        end=end,
        text=kept.article.article.text[start:end],
        score=max(kept.score, extra.score),
        lexical=max(kept.lexical, extra.lexical),
    )


def widen(passages: Sequence[Passage], counter: TokenCounter, budget: int, sentences: int) -> list[Passage]:
    """``passages`` with up to ``sentences`` neighbouring sentences on each side, in ``budget`` tokens.

    One sentence per side per round, best passage first, so a tight budget goes to the best hits."""
    out = list(passages)
    used = sum(counter.count([p.text for p in out]))
    spans: dict[str, list[tuple[int, int]]] = {}
    for _ in range(sentences):
        for i in range(len(out)):
            for before in (True, False):
                passage = out[i]
                text = passage.article.article.text
                article_spans = spans.setdefault(passage.article.article.id, sentence_spans(text))
                start, end = _neighbour(article_spans, passage, before)
                if start == end or _would_touch(out, i, start, end):
                    continue
                cost = counter.count([text[start:end]])[0]
                if used + cost > budget:
                    continue
                used += cost
                start, end = min(start, passage.start), max(end, passage.end)
                out[i] = replace(passage, start=start, end=end, text=text[start:end])
    return out


def _neighbour(spans: Sequence[tuple[int, int]], passage: Passage, before: bool) -> tuple[int, int]:
    """The article text between the passage and the start (end) of the sentence before (after) it."""
    if before:
        starts = [s for s, _ in spans if s < passage.start]
        return (starts[-1], passage.start) if starts else (passage.start, passage.start)
    ends = [e for _, e in spans if e > passage.end]
    return (passage.end, ends[0]) if ends else (passage.end, passage.end)


def _would_touch(chosen: Sequence[Passage], i: int, start: int, end: int) -> bool:
    me = chosen[i]
    return any(
        j != i and other.article.article.id == me.article.article.id and start < other.end and other.start < end
        for j, other in enumerate(chosen)
    )
