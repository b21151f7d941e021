"""Evidence sentences: the few sentences of the retrieved passages that the model is shown.

Each candidate is scored by its cosine with the question, a lexical overlap weighted by each question term's rarity
among the candidates (no stopword lists, so any language works) and its passage's score; the best fill a token budget,
a top pick may bring the sentence before it, and they are shown grouped by article, in the article's order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import TokenCounter, sentence_spans
from service.answering.types import Passage

# Words (letters and digits of any script) and, for scripts written without spaces, character pairs.
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class EvidenceSentence:
    """Evidence ``[n]``: one sentence of an article, ``text == article text[start:end]``."""

    n: int
    passage: Passage  # the retrieved passage it was taken from (article, chunk, scores)
    start: int
    end: int
    text: str
    score: float


def terms(text: str) -> list[str]:
    """Lower-cased words; runs of CJK characters become overlapping character pairs."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.search(word):
            chars = [c for c in word if _CJK.match(c)]
            out.extend(a + b for a, b in itertools.pairwise(chars))
            out.extend(chars if len(chars) == 1 else [])
        else:
            out.append(word)
    return out


def lexical_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """The share of the question's term weight each sentence holds; weight = BM25's idf among ``sentences``."""
    wanted = set(terms(question))
    if not wanted or not sentences:
        return [0.0] * len(sentences)
    held = [set(terms(s)) & wanted for s in sentences]
    n = len(sentences)
    df = {t: sum(t in h for h in held) for t in wanted}
    idf = {t: math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in wanted}
    total = sum(idf.values())
    return [sum(idf[t] for t in h) / total for h in held]


class SentenceVectors:
    """Sentence embeddings, computed once per sentence of a stored article version and kept (LRU)."""

    def __init__(self, embed: Callable[[list[str]], list[list[float]]], capacity: int = 20_000) -> None:
        self._embed = embed
        self._capacity = capacity
        self._cache: OrderedDict[tuple[str, str, int, int], np.ndarray] = OrderedDict()

    def of(self, keys: Sequence[tuple[str, str, int, int]], texts: Sequence[str]) -> np.ndarray:
        missing = [i for i, k in enumerate(keys) if k not in self._cache]
        if missing:
            vectors = self._embed([texts[i] for i in missing])
            for i, v in zip(missing, vectors, strict=True):
                self._cache[keys[i]] = _unit(np.asarray(v, dtype=np.float32))
        rows = []
        for k in keys:
            self._cache.move_to_end(k)
            rows.append(self._cache[k])
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


@dataclass(frozen=True)
class EvidencePolicy:
    budget_tokens: int = 200  # all evidence sentences together, in the embedder's tokens
    lexical_weight: float = 0.5
    passage_weight: float = 0.5  # the cosine of the retrieved passage a sentence is in (its context's relevance)
    neighbours: int = 1  # picked sentences (best first) that may bring the sentence before them
    max_sentences: int = 12
    max_sentence_tokens: int = 80  # longer "sentences" (tables, run-ons) are left out


def select_evidence(
    question: str,
    question_vector: np.ndarray,
    passages: Sequence[Passage],
    vectors: SentenceVectors,
    counter: TokenCounter,
    policy: EvidencePolicy = EvidencePolicy(),
) -> list[EvidenceSentence]:
    """The best sentences of ``passages`` for ``question`` within the budget, numbered 1.. in display order."""
    spans_of: dict[str, list[tuple[int, int]]] = {}  # article id -> its sentence spans, split once
    candidates = _candidate_sentences(passages, spans_of)
    if not candidates:
        return []
    texts = [text for _, _, _, text in candidates]
    keys = [(p.article.article.id, p.article.version, s, e) for p, s, e, _ in candidates]
    dense = vectors.of(keys, texts) @ _unit(question_vector)
    lexical = lexical_scores(question, texts)
    scores = [
        float(d) + policy.lexical_weight * x + policy.passage_weight * c[0].score
        for d, x, c in zip(dense, lexical, candidates, strict=True)
    ]
    index_of = {(k[0], k[2]): i for i, k in enumerate(keys)}  # (article, start) -> candidate
    tokens = counter.count(texts)
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])
    chosen: dict[int, float] = {}
    used = 0

    def take(i: int, score: float) -> bool:
        nonlocal used
        if i in chosen or tokens[i] > policy.max_sentence_tokens or used + tokens[i] > policy.budget_tokens:
            return False
        chosen[i] = score
        used += tokens[i]
        return True

    picks = 0
    for i in order:
        if len(chosen) >= policy.max_sentences:
            break
        if not take(i, scores[i]):
            continue
        picks += 1
        if picks <= policy.neighbours and len(chosen) < policy.max_sentences:
            before = _previous(candidates[i], index_of, spans_of[candidates[i][0].article.article.id])
            if before is not None:
                take(before, scores[i])  # shown with the sentence it explains; ranked with it
    return _numbered(candidates, chosen)


def _candidate_sentences(
    passages: Sequence[Passage], spans_of: dict[str, list[tuple[int, int]]]
) -> list[tuple[Passage, int, int, str]]:
    """Every sentence overlapping a passage, whole, once per article version; ``spans_of`` keeps the
    articles' sentence spans for the caller."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[Passage, int, int, str]] = []
    for passage in passages:
        article = passage.article.article
        spans = spans_of.setdefault(article.id, sentence_spans(article.text))
        for start, end in spans:
            if end <= passage.start or start >= passage.end or (article.id, start) in seen:
                continue
            seen.add((article.id, start))
            out.append((passage, start, end, article.text[start:end]))
    return out


def _previous(
    candidate: tuple[Passage, int, int, str], index_of: dict[tuple[str, int], int], spans: Sequence[tuple[int, int]]
) -> int | None:
    """The candidate sentence right before this one in its article (nothing but spaces between), if any."""
    passage, start, _, _ = candidate
    article = passage.article.article
    before = [s for s, e in spans if e <= start and not article.text[e:start].strip()]
    return index_of.get((article.id, before[-1])) if before else None


def _numbered(candidates: Sequence[tuple[Passage, int, int, str]], chosen: dict[int, float]) -> list[EvidenceSentence]:
    """Articles by their best sentence; inside an article, its own order."""
    by_article: dict[str, list[int]] = {}
    for i in sorted(chosen, key=lambda i: -chosen[i]):
        by_article.setdefault(candidates[i][0].article.article.id, []).append(i)
    out: list[EvidenceSentence] = []
    for indexes in by_article.values():
        for i in sorted(indexes, key=lambda i: candidates[i][1]):
            passage, start, end, text = candidates[i]
            out.append(EvidenceSentence(len(out) + 1, passage, start, end, text, chosen[i]))
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
