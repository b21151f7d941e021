"""The ingest pipeline: articles -> chunks -> embeddings -> store, skipping what is already there."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from index.articles import Article, chunk_search_text, same_story
from index.chunking import chunk_text
from index.embedding import Embedder
from index.store import ArticleStore, Lookup, WriteItem, text_fingerprint


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"


@dataclass
class IngestReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    chunks_written: int = 0
    duplicate_of: dict[str, str] = field(default_factory=dict)  # id -> the stored article with the same story

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o is outcome)


@dataclass(frozen=True)
class ChunkingPolicy:
    max_tokens: int = 128
    overlap_tokens: int = 32


WRITE_WINDOW = 16  # articles looked up together and written in one store write


def ingest_articles(
    articles: Iterable[Article],
    store: ArticleStore,
    embedder: Embedder,
    policy: ChunkingPolicy,
    on_article: Callable[[Article, Outcome], None] | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Store each article unless the same version (or text) is already stored; report what happened.

    Articles go through in windows of ``WRITE_WINDOW``: one lookup for the window, then its changed
    articles embedded while the previous window's write (one ``write_many``) runs in a writer thread.
    A Chroma call's fixed cost is large and the writes compete with the embedder for the cores, so
    fewer, larger calls leave the embedder more of the machine. Writes happen one at a time and in
    order; ``on_article`` hears of each article only once its window is stored (``report`` already
    holds it), so a crash never reports an article that is not there."""
    report = report if report is not None else IngestReport()
    written: dict[str, str] = {}  # this batch's writes, id -> version: seen before their commit lands
    texts_written: dict[str, list[tuple[str, str]]] = {}  # text fingerprint -> (id, title)s, likewise
    pending: tuple[Future[None] | None, list[tuple[Article, Outcome, int]]] | None = None

    def settle() -> None:
        nonlocal pending
        if pending is not None:
            write, entries = pending
            pending = None
            if write is not None:
                write.result()
            for article, outcome, n_chunks in entries:
                report.chunks_written += n_chunks
                _record(report, article, outcome, on_article)

    def plan(window: list[Article], known: Lookup) -> tuple[list[tuple[Article, Outcome, int]], list[WriteItem]]:
        """Each article's outcome, and the changed ones chunked and embedded (the slow part)."""
        entries: list[tuple[Article, Outcome, int]] = []
        to_write: list[WriteItem] = []
        for article in window:
            previous = written.get(article.id) or known.versions.get(article.id)
            fingerprint = text_fingerprint(article.text)
            twin = None
            if previous is None:
                same_text = [*texts_written.get(fingerprint, []), *known.by_text.get(fingerprint, [])]
                twins = (aid for aid, title in same_text if same_story(article.title, title, article.text))
                twin = next((aid for aid in twins if aid != article.id), None)
            if previous == article.version or twin is not None:
                if twin is not None:  # the same story under another name or URL: keep the one copy
                    report.duplicate_of[article.id] = twin
                entries.append((article, Outcome.UNCHANGED, 0))
                continue
            chunks = chunk_text(article.text, embedder.counter, policy.max_tokens, policy.overlap_tokens)
            texts = [chunk_search_text(article.title, c.text) for c in chunks]
            to_write.append((article, chunks, embedder.model.get_text_embedding_batch(texts)))
            entries.append((article, Outcome.CREATED if previous is None else Outcome.REPLACED, len(chunks)))
            written[article.id] = article.version
            texts_written.setdefault(fingerprint, []).append((article.id, article.title))
        return entries, to_write

    # A window is looked up while no write is in flight (between two writes): a Chroma read waits
    # for a concurrent write, which would undo the overlap.
    upcoming = _Lookahead(articles)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewire-write") as writer:
        try:
            window = upcoming.take(WRITE_WINDOW)
            known = store.lookup(window)
            while window:
                entries, to_write = plan(window, known)  # embeds while the previous window is written
                settle()
                window = upcoming.take(WRITE_WINDOW)
                known = store.lookup(window)
                pending = (writer.submit(store.write_many, to_write) if to_write else None, entries)
            settle()
            upcoming.raise_deferred()  # a bad record after the last good one: those before it are stored
        finally:
            if pending is not None and pending[0] is not None:  # an error elsewhere: let the write finish
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

    def take(self, n: int) -> list[Article]:
        """Up to ``n`` next articles; fewer at the end or before a bad record."""
        taken: list[Article] = []
        while len(taken) < n and (article := self.pull()) is not None:
            taken.append(article)
        return taken

    def raise_deferred(self) -> None:
        if self._error is not None:
            raise self._error


def _record(
    report: IngestReport, article: Article, outcome: Outcome, on_article: Callable[[Article, Outcome], None] | None
) -> None:
    report.outcomes[article.id] = outcome
    if on_article is not None:
        on_article(article, outcome)
