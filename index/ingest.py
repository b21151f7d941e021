"""The ingest pipeline: articles -> chunks -> embeddings -> store, skipping what is already there."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from index.articles import Article, chunk_search_text
from index.chunking import chunk_text
from index.embedding import Embedder
from index.store import ArticleStore, text_fingerprint


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

    The store write of one article runs in a writer thread while the next article is embedded:
    Chroma's commit waits on disk, and the embedder can use that time. Writes still happen one at a
    time and in order, and ``on_article`` hears of each article only once it is stored (``report``
    already holds it), so a crash never reports an article that is not there."""
    report = report if report is not None else IngestReport()
    written: dict[str, str] = {}  # this batch's writes, id -> version: seen before their commit lands
    texts_written: dict[str, str] = {}  # text fingerprint -> id, likewise
    pending: tuple[Future[None], Article, Outcome, int] | None = None

    def settle() -> None:
        nonlocal pending
        if pending is not None:
            write, article, outcome, n_chunks = pending
            pending = None
            write.result()
            report.chunks_written += n_chunks
            _record(report, article, outcome, on_article)

    def stored_as(article: Article) -> tuple[str | None, str | None]:
        """The version stored under this id, and the id of a stored article with the same text."""
        previous = written.get(article.id) or store.version_of(article.id)
        twin = None
        if previous is None:
            twin = texts_written.get(text_fingerprint(article.text)) or store.same_text(article)
        return previous, twin

    # Each article is looked up while no write is in flight (the lookup of the next one comes between
    # two writes): a Chroma read waits for a concurrent write, which would undo the overlap.
    upcoming = _Lookahead(articles)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewire-write") as writer:
        try:
            nxt = upcoming.pull()
            known = stored_as(nxt) if nxt is not None else None
            while nxt is not None and known is not None:
                article, (previous, twin) = nxt, known
                nxt = upcoming.pull()
                if previous == article.version or twin is not None:
                    if twin is not None:  # the same story under another name or URL: keep the one copy
                        report.duplicate_of[article.id] = twin
                    settle()
                    _record(report, article, Outcome.UNCHANGED, on_article)
                    known = stored_as(nxt) if nxt is not None else None
                    continue
                chunks = chunk_text(article.text, embedder.counter, policy.max_tokens, policy.overlap_tokens)
                texts = [chunk_search_text(article.title, c.text) for c in chunks]
                embeddings = embedder.model.get_text_embedding_batch(texts)  # overlaps the previous write
                settle()
                outcome = Outcome.CREATED if previous is None else Outcome.REPLACED
                written[article.id] = article.version
                texts_written[text_fingerprint(article.text)] = article.id
                known = stored_as(nxt) if nxt is not None else None
                pending = (writer.submit(store.write, article, chunks, embeddings), article, outcome, len(chunks))
            settle()
            upcoming.raise_deferred()  # a bad record after the last good one: those before it are stored
        finally:
            if pending is not None:  # an error elsewhere: let the write in flight finish before flushing
                with contextlib.suppress(Exception):
                    pending[0].result()
            store.flush()  # once per batch: saving the BM25 index after every article would be quadratic
    return report


class _Lookahead:
    """Articles one ahead of their use. An error while reading the next one (a bad record) is held
    back until the articles before it are stored, as it would be without looking ahead."""

    def __init__(self, articles: Iterable[Article]) -> None:
        self._items: Iterator[Article] = iter(articles)
        self._error: BaseException | None = None

    def pull(self) -> Article | None:
        if self._error is not None:
            return None
        try:
            return next(self._items)
        except StopIteration:
            return None
        except Exception as exc:  # re-raised by raise_deferred, after the articles read before it
            self._error = exc
            return None

    def raise_deferred(self) -> None:
        if self._error is not None:
            raise self._error


def _record(
    report: IngestReport, article: Article, outcome: Outcome, on_article: Callable[[Article, Outcome], None] | None
) -> None:
    report.outcomes[article.id] = outcome
    if on_article is not None:
        on_article(article, outcome)
