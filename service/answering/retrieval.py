"""Hybrid retrieval: dense Chroma search beside corpus-wide BM25, fused with reciprocal rank fusion.

MiniLM alone misses passages that share the question's exact words (names, numbers, rare terms)
and BM25 alone misses paraphrases; each fetches its own candidates and RRF merges the two rankings.
Every candidate carries both signals, the cosine (for the relevance gate) and the BM25 score, so a
chunk found only by BM25 is still judged by its meaning before it reaches the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from llama_index.core import QueryBundle, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore

from index.filters import ArticleFilter, published_day
from index.store import ArticleStore
from service.answering.checks.anchors import years_written
from service.settings import Settings

RetrievalMode = Literal["hybrid", "dense", "sparse"]
_UNFILTERED_DEPTH = 3  # a date-only filter first tries this many times n unfiltered hits
_BM25_KEY = "bm25"

# "What is the latest...", "...this week?": the asker wants the newest reporting. A question that
# names a year ("in 2019") is dated, and must not be pulled towards recent articles.
_RECENCY = re.compile(
    r"\b(latest|most recent|recent(ly)?|newest|this (week|month|year)|last (week|night)|today|yesterday"
    r"|currently|right now|so far)\b",
    re.IGNORECASE,
)


def wants_recent(question: str, where: ArticleFilter | None = None) -> bool:
    """Whether newer articles should rank higher: the question asks for the latest news, or it is asked
    as of a day (a question put to a news archive on a given day is about the news around that day).
    Either way it names no other year: "in 2019" dates the question, and recency must not pull it
    elsewhere; asked in 2022, "the 2022 Stanley Cup Finals" is this year's news."""
    as_of = where.as_of if where is not None else None
    years = years_written(question)
    if as_of is not None:
        return years <= {str(as_of.year)}
    return bool(_RECENCY.search(question)) and not years


@dataclass(frozen=True)
class Candidate:
    """A chunk found by either retriever, with both of its scores."""

    node: BaseNode
    cosine: float  # question vs chunk embedding
    bm25: float  # 0.0 when the chunk shares no indexed word with the question


@dataclass(frozen=True)
class FusionWeights:
    dense: float = 1.0
    sparse: float = 1.0
    k: int = 60  # RRF's rank offset: larger flattens the difference between top ranks
    recency: float = 1.0  # weight of the recency bonus, in units of one first place in one ranking
    half_life_days: float = 30.0  # the bonus halves per this many days before the as-of day (or newest candidate)

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionWeights:
        return cls(
            settings.dense_weight,
            settings.sparse_weight,
            settings.rrf_k,
            settings.recency_weight,
            settings.recency_half_life_days,
        )


class HybridRetriever(BaseRetriever):
    """Dense + BM25 candidates over the same store, fused by weighted RRF.

    The engines ask for ``candidates`` (both scores, any depth, any filter); as a LlamaIndex retriever,
    ``retrieve("...")`` gives the ``top_k`` fused nodes ``where`` allows, so it plugs into a stock query
    engine. Each node's score is its cosine and its metadata holds its ``bm25``."""

    def __init__(
        self,
        index: VectorStoreIndex,
        store: ArticleStore,
        embed_model: BaseEmbedding,
        mode: RetrievalMode = "hybrid",
        weights: FusionWeights = FusionWeights(),
        top_k: int = 10,
        where: ArticleFilter | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.top_k = top_k
        self.where = where
        self.index = index
        self.store = store
        self.embed_model = embed_model
        self.mode = mode
        self.weights = weights
        self._last_query: tuple[str, np.ndarray] | None = None

    def query_vector(self, question: str) -> np.ndarray:
        """The question's embedding; the last one is kept, since the engine asks again after answering."""
        last = self._last_query  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == question:
            return last[1]
        vector = np.asarray(self.embed_model.get_query_embedding(question), dtype=np.float32)
        self._last_query = (question, vector)
        return vector

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.candidates(query_bundle.query_str, self.top_k, self.where)
        return [as_scored_node(c) for c in found[: self.top_k]]

    def candidates(self, question: str, n_candidates: int, where: ArticleFilter | None = None) -> list[Candidate]:
        """Up to ``n_candidates`` from each retriever, fused and best first; both search only ``where``."""
        query_vector = self.query_vector(question)
        dense: list[Candidate] = []
        if self.mode != "sparse":
            hits = self._dense_hits(
                QueryBundle(query_str=question, embedding=query_vector.tolist()), n_candidates, where
            )
            dense = [Candidate(h.node, cosine_from_chroma(h.score or 0.0), 0.0) for h in hits]
        if self.mode == "dense":
            return dense
        sparse = self.store.fresh_sparse().search(question, n_candidates, where)
        by_id = {c.node.node_id: c for c in dense}
        missing = [cid for cid, _ in sparse.top if cid not in by_id]
        for node, vector in self.store.get_chunks(missing):
            by_id[node.node_id] = Candidate(node, cosine(query_vector, vector), 0.0)
        pool = [Candidate(c.node, c.cosine, sparse.of(cid)) for cid, c in by_id.items()]
        if self.mode == "sparse":
            return sorted(pool, key=lambda c: -c.bm25)[:n_candidates]
        position = {c.node.node_id: i for i, c in enumerate(pool)}
        rankings = [
            [position[cid] for cid, _ in sparse.top if cid in position],
            [position[c.node.node_id] for c in dense],
        ]
        w = self.weights
        scores = fused_scores(rankings, len(pool), k=w.k, weights=[w.sparse, w.dense])
        if w.recency > 0 and wants_recent(question, where):
            today = where.as_of.toordinal() if where is not None and where.as_of is not None else None
            bonus = recency_bonus([c.node.metadata.get("published_at") for c in pool], w.half_life_days, today)
            scores = [s + w.recency * b / (w.k + 1) for s, b in zip(scores, bonus, strict=True)]
        # BM25 first: on a tie, exact words (names, numbers) are the sharper evidence in news.
        return [pool[i] for i in order_by(scores, rankings[0])]

    def _dense_hits(self, bundle: QueryBundle, n: int, where: ArticleFilter | None) -> list[NodeWithScore]:
        """The ``n`` nearest chunks ``where`` allows, through Chroma's metadata filter.

        Chroma's filter costs about 100 ms a query at 40k chunks, whatever it selects. A bound by
        date alone usually lets most chunks through (an as-of day), so the unfiltered ranking is
        searched deeper first and filtered here: when enough pass, they are exactly the filtered
        search's top ``n``; only otherwise is the filtered search run."""
        if where is None or where.empty:
            return self.index.as_retriever(similarity_top_k=n).retrieve(bundle)
        if where.dates_only:
            deeper = self.index.as_retriever(similarity_top_k=n * _UNFILTERED_DEPTH).retrieve(bundle)
            kept = [h for h in deeper if where.matches_chunk(h.node.metadata)]
            if len(kept) >= n:
                return kept[:n]
        return self.index.as_retriever(similarity_top_k=n, filters=where.metadata_filters()).retrieve(bundle)


def as_scored_node(candidate: Candidate) -> NodeWithScore:
    """A candidate as LlamaIndex passes results on: scored by its cosine, its BM25 score in a copy of the
    node's metadata (kept out of the model's prompt and the embedder's text)."""
    node = candidate.node
    copy = node.model_copy(
        update={
            "metadata": {**node.metadata, _BM25_KEY: candidate.bm25},
            "excluded_llm_metadata_keys": [*node.excluded_llm_metadata_keys, _BM25_KEY],
            "excluded_embed_metadata_keys": [*node.excluded_embed_metadata_keys, _BM25_KEY],
        }
    )
    return NodeWithScore(node=copy, score=candidate.cosine)


def cosine_from_chroma(score: float) -> float:
    """ChromaVectorStore reports exp(-distance); on a cosine collection distance = 1 - cosine."""
    return 1.0 + math.log(score) if score > 0 else -1.0


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def fused_scores(
    rankings: Sequence[Sequence[int]], n: int, k: int = 60, weights: Sequence[float] | None = None
) -> list[float]:
    """Each item's summed weight/(k + rank) over the rankings (Cormack et al., 2009)."""
    weights = weights if weights is not None else [1.0] * len(rankings)
    fused = [0.0] * n
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking):
            fused[item] += weight / (k + rank + 1)
    return fused


def order_by(scores: Sequence[float], first: Sequence[int] = ()) -> list[int]:
    """Indexes by score, best first; ties go to the item ranked higher in ``first``, then the lower index."""
    position = {item: rank for rank, item in enumerate(first)}
    n = len(scores)
    return sorted(range(n), key=lambda i: (-scores[i], position.get(i, n), i))


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], n: int, k: int = 60, weights: Sequence[float] | None = None
) -> list[int]:
    """Item indexes ordered by fused score; ties go to the first ranking's favourite, then the lower index."""
    return order_by(fused_scores(rankings, n, k, weights), rankings[0] if rankings else ())


def recency_bonus(published: Sequence[str | None], half_life_days: float, today: int | None = None) -> list[float]:
    """1.0 for an item of ``today`` (a day ordinal), halving every ``half_life_days`` older; 0.0 without a date.

    Without ``today`` (the question's as-of day), ages count from the newest candidate, not from the
    clock: an archive's "latest" is its newest story."""
    days = [published_day(p) for p in published]
    known = [d for d in days if d is not None]
    if not known:
        return [0.0] * len(days)
    newest = today if today is not None else max(known)
    return [0.0 if d is None else 0.5 ** (max(newest - d, 0) / half_life_days) for d in days]
