"""The ingest pipeline: articles -> chunks -> embeddings -> store, skipping what is already there."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from index.articles import Article, chunk_search_text
from index.chunking import chunk_text
from index.embedding import Embedder
from index.store import ArticleStore


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"


@dataclass
class IngestReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    chunks_written: int = 0
    duplicate_of: dict[str, str] = field(default_factory=dict)  # id -> the stored article with the same text

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o is outcome)


@dataclass(frozen=True)
class ChunkingPolicy:
    max_tokens: int = 128
    overlap_tokens: int = 32


def ingest_articles(
    articles: Iterable[Article],
    store: ArticleStore,
    embedder: Embedder,
    policy: ChunkingPolicy,
    on_article: Callable[[Article, Outcome], None] | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Store each article unless the same version (or text) is already stored; report what happened.

    ``on_article`` hears of each article as soon as it is done (``report`` already holds it)."""
    report = report if report is not None else IngestReport()
    try:
        for article in articles:
            previous = store.version_of(article.id)
            twin = store.same_text(article) if previous is None else None
            if previous == article.version:
                outcome = Outcome.UNCHANGED
            elif twin is not None:  # the same story under another name or URL: keep the one copy
                report.duplicate_of[article.id] = twin
                outcome = Outcome.UNCHANGED
            else:
                chunks = chunk_text(article.text, embedder.counter, policy.max_tokens, policy.overlap_tokens)
                texts = [chunk_search_text(article.title, c.text) for c in chunks]
                store.write(article, chunks, embedder.model.get_text_embedding_batch(texts))
                report.chunks_written += len(chunks)
                outcome = Outcome.CREATED if previous is None else Outcome.REPLACED
            report.outcomes[article.id] = outcome
            if on_article is not None:
                on_article(article, outcome)
    finally:
        store.flush()  # once per batch: saving the BM25 index after every article would be quadratic
    return report
