"""Writes to the store from the HTTP API: one writer at a time, big batches as background jobs.

Chroma and the BM25 index take one writer at a time; readers keep going (they only trust chunks of
committed article records, see index/store.py). Each article's result says what happened to it:
created, unchanged (the same version, or the same story, text and headline, already stored under another
id: then ``duplicate_of`` names it), or replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from index.articles import Article
from index.ingest import IngestReport, Outcome, ingest_articles
from service.components import Components
from service.jobs.queue import Job, JobRunner

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
        """Store the articles in the background; progress and results through the job."""

        def body(report: Callable[[Result | None, int, int], None]) -> dict[str, Any]:
            done = [0]

            def on_result(result: Result) -> None:
                done[0] += 1
                report(result, done[0], len(articles))

            results = self.ingest(articles, on_result)
            return summarize(results)

        return self.jobs.submit("ingest", body, len(articles))

    def delete(self, article_id: str) -> bool:
        with self._write_lock:
            existed = self.components.store.delete(article_id)
            self.components.store.flush()
        if existed and self.observer is not None:
            self.observer.wrote("deleted")
        return existed


def summarize(results: Sequence[Result]) -> dict[str, int]:
    counts = {"created": 0, "unchanged": 0, "replaced": 0}
    for result in results:
        counts[result["outcome"]] += 1
    return counts
