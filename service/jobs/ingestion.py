"""Writes to the store from the HTTP API: one writer at a time, big batches as background jobs that outlive a crash.

Chroma and the BM25 index take one writer at a time; readers keep going (they only trust chunks of committed article
records, see index/store.py). Each article's result says: created, unchanged (the same version, or the same story
already stored under another id: ``duplicate_of`` names it) or replaced. A background ingest's articles are saved
before it is accepted, and a restarted server carries it on (``recover``): redoing a stored article is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from typing import Any, Protocol

from index.articles import Article
from index.ingest import IngestReport, Outcome, ingest_articles
from index.loaders import article_from_record
from service.components import Components
from service.jobs.queue import Job, JobBody, JobRunner, Reporter

log = logging.getLogger(__name__)
# On a shared Chroma another process's write has its chunks in before its article record: an orphan candidate
# is removed only if it still is one this much later (a store write takes well under a second).
SHARED_SWEEP_GRACE_S = 30.0

Result = dict[str, Any]


class WriteObserver(Protocol):
    """Hears what each write did to an article (the app's metrics): created, unchanged, replaced or deleted."""

    def wrote(self, outcome: str) -> None: ...


class Ingestor:
    def __init__(self, components: Components, jobs: JobRunner) -> None:
        self.components = components
        self.jobs = jobs
        self.observer: WriteObserver | None = None
        self._write_lock = threading.Lock()

    def ingest(self, articles: Sequence[Article], on_result: Callable[[Result], None] | None = None) -> list[Result]:
        """Store the articles now (blocking); one result per article, in order."""
        results: list[Result] = []
        report = IngestReport()

        def record(article: Article, outcome: Outcome) -> None:
            result = {
                "id": article.id,
                "title": article.title,
                "outcome": outcome.value,
                "duplicate_of": report.duplicate_of.get(article.id),
            }
            results.append(result)
            if self.observer is not None:
                self.observer.wrote(outcome.value)
            if on_result is not None:
                on_result(result)

        c = self.components
        with self._write_lock:
            ingest_articles(articles, c.store, c.embedder, c.chunking, record, report)
        return results

    def submit(self, articles: Sequence[Article]) -> Job:
        """Store the articles in the background; progress and results through the job.

        The articles are on disk (the job's input: their fields and version) before this returns."""
        saved = [{**asdict(a), "version": a.version} for a in articles]
        return self.jobs.submit("ingest", self._body(articles, []), len(articles), saved)

    def recover(self) -> list[Job]:
        """At start, once per process, before any write: sweep the chunks an interrupted write or delete left,
        then prune old jobs and carry on the ingests a dead process left (the others are marked failed)."""
        store = self.components.store
        if store.shared:  # other processes may be writing: look twice, off the start-up path
            threading.Thread(target=self._sweep, args=(SHARED_SWEEP_GRACE_S,), daemon=True).start()
        else:
            self._sweep(0.0)
        return self.jobs.recover(self._restart)

    def _sweep(self, grace_s: float) -> None:
        swept = self.components.store.sweep_orphans(grace_s)
        if swept:
            log.warning("removed %d chunks of articles whose write or delete did not finish", swept)

    def _restart(self, job: Job) -> JobBody | None:
        """The rest of an ingest a dead process left: its results so far are kept, the articles after them redone."""
        if job.kind != "ingest":
            return None
        articles = [saved_article(record) for record in self.jobs.read_input(job)]
        return self._body(articles, job.results[: len(articles)])

    def _body(self, articles: Sequence[Article], reported: list[Result]) -> JobBody:
        """Ingest the articles after the ``reported`` ones (results are in article order, one each)."""

        def body(report: Reporter) -> dict[str, Any]:
            done = [len(reported)]

            def on_result(result: Result) -> None:
                done[0] += 1
                report(result, done[0], len(articles))

            results = self.ingest(articles[len(reported) :], on_result)
            return summarize([*reported, *results])

        return body

    def delete(self, article_id: str) -> bool:
        with self._write_lock:
            existed = self.components.store.delete(article_id)
            self.components.store.flush()
        if existed and self.observer is not None:
            self.observer.wrote("deleted")
        return existed


def saved_article(record: dict[str, Any]) -> Article:
    """An article of a job's input as it was accepted. The loader checks the record, but its fields are kept as
    saved: loading again is not always a no-op (a bare date gains a time), and would store another version."""
    saved: dict[str, Any] = {f.name: record.get(f.name) for f in fields(Article)}
    article = replace(article_from_record(record), **saved)
    if article.version != record.get("version"):
        raise ValueError(f"the saved article {article.id!r} is not the one accepted (its version differs)")
    return article


def summarize(results: Sequence[Result]) -> dict[str, int]:
    counts = {"created": 0, "unchanged": 0, "replaced": 0}
    for result in results:
        counts[result["outcome"]] += 1
    return counts
