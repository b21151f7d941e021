"""Ranking helpers for retrieval: BM25 over dense candidates, fused with reciprocal rank fusion.

MiniLM alone misses passages that share the question's exact words (names, numbers, "reviewed"),
so the dense candidates are re-ranked with BM25 scores computed over the candidates themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import bm25s
import Stemmer


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def lexical_scores(query: str, texts: Sequence[str]) -> list[float]:
    """BM25 score of each text for the query, with the texts themselves as the corpus."""
    if not texts:
        return []
    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), show_progress=False)
    if not any(len(doc) for doc in tokens.ids):  # only stopwords: bm25s cannot index nothing
        return [0.0] * len(texts)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    query_tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)
    vocab = tokens.vocab
    known = [t for t in query_tokens[0] if t in vocab]
    if not known:
        return [0.0] * len(texts)
    return [float(s) for s in model.get_scores(known)]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], n: int, k: int = 60) -> list[int]:
    """Item indexes ordered by summed 1/(k + rank) over the rankings (Cormack et al., 2009).

    Ties go to the item ranked higher by the first ranking, then to the lower index.
    """
    fused = [0.0] * n
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] += 1.0 / (k + rank + 1)
    first = {item: rank for rank, item in enumerate(rankings[0])} if rankings else {}
    return sorted(range(n), key=lambda i: (-fused[i], first.get(i, n), i))


def rank_by(scores: Sequence[float]) -> list[int]:
    """Indexes of the positive scores, best first (a zero score is no evidence)."""
    return [i for i in sorted(range(len(scores)), key=lambda i: -scores[i]) if scores[i] > 0]
