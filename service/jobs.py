"""Background jobs for long HTTP work (batch evaluation): one worker thread, progress, results.

Generation is serial on a local model, so one worker is the honest capacity; queued jobs wait.
Each job's results are also appended to a JSONL file under the data dir as they arrive, so a crash
loses nothing already computed.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# A job body gets a reporter: report(result_or_None, done, total). It returns a summary dict.
Reporter = Callable[[dict[str, Any] | None, int, int], None]
JobBody = Callable[[Reporter], dict[str, Any]]


@dataclass
class Job:
    id: str
    kind: str
    status: str = "queued"  # queued | running | done | failed
    done: int = 0
    total: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    results_path: Path | None = None


class JobRunner:
    """Runs submitted jobs one at a time on a daemon thread."""

    def __init__(self, results_dir: Path, max_jobs: int = 100) -> None:
        self._results_dir = results_dir
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[tuple[Job, JobBody]] = queue.Queue()
        self._lock = threading.Lock()
        self._max_jobs = max_jobs
        self._thread = threading.Thread(target=self._work, name="citewire-jobs", daemon=True)
        self._thread.start()

    def submit(self, kind: str, body: JobBody, total: int) -> Job:
        with self._lock:
            if sum(j.status in ("queued", "running") for j in self._jobs.values()) >= self._max_jobs:
                raise OverflowError("too many jobs waiting")
            job = Job(id=uuid.uuid4().hex[:16], kind=kind, total=total)
            job.results_path = self._results_dir / f"{kind}-{job.id}.jsonl"
            self._jobs[job.id] = job
        self._queue.put((job, body))
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _work(self) -> None:
        while True:
            job, body = self._queue.get()
            try:
                self._run(job, body)
            finally:
                self._queue.task_done()

    def _run(self, job: Job, body: JobBody) -> None:
        job.status = "running"
        try:
            self._results_dir.mkdir(parents=True, exist_ok=True)
            assert job.results_path is not None
            with job.results_path.open("a", encoding="utf-8") as out:

                def report(result: dict[str, Any] | None, done: int, total: int) -> None:
                    if result is not None:
                        out.write(json.dumps(result, ensure_ascii=False) + "\n")
                        out.flush()
                        job.results.append(result)
                    job.done, job.total = done, total

                job.summary = body(report)
            job.status = "done"
        except Exception as exc:  # a failed job is reported, never takes the server down
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
