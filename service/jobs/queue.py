"""Background jobs for long HTTP work (evaluations, large ingests): one worker thread per runner, progress, results.

Generation is serial on a local model, so one worker is the honest capacity and queued jobs wait. Results are appended
to a JSONL file as they arrive (a crash loses nothing computed) and the job's state is kept in a JSON file beside them,
so any server process sharing the data dir can answer for a job another one runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
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
_JOB_ID = re.compile(r"[0-9a-f]{16}")
_STATE_FIELDS = ("id", "kind", "status", "done", "total", "summary", "error", "created_at")


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
        _publish(job)
        self._queue.put((job, body))
        return job

    def get(self, job_id: str) -> Job | None:
        """A job of this process, else one another process sharing the data dir runs or ran."""
        job = self._jobs.get(job_id)
        return job if job is not None or not _JOB_ID.fullmatch(job_id) else self._load(job_id)

    def _load(self, job_id: str) -> Job | None:
        for state in self._results_dir.glob(f"*-{job_id}.json"):
            try:
                fields = json.loads(state.read_text(encoding="utf-8"))
                job = Job(**{k: fields[k] for k in _STATE_FIELDS}, results_path=state.with_suffix(".jsonl"))
            except (OSError, ValueError, KeyError, TypeError):
                return None
            job.results = _read_results(job.results_path)
            return job
        return None

    def _work(self) -> None:
        while True:
            job, body = self._queue.get()
            try:
                self._run(job, body)
            finally:
                self._queue.task_done()

    def _run(self, job: Job, body: JobBody) -> None:
        job.status = "running"
        _publish(job)
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
                    _publish(job)

                job.summary = body(report)
            job.status = "done"
        except Exception as exc:  # a failed job is reported, never takes the server down
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        _publish(job)


def _publish(job: Job) -> None:
    """Write the job's state beside its results, atomically: readers in other processes never see half.

    Best effort: this process answers for the job from memory whatever happens to the file."""
    assert job.results_path is not None
    path = job.results_path.with_suffix(".json")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({k: getattr(job, k) for k in _STATE_FIELDS}, default=str), encoding="utf-8")
        os.replace(tmp, path)


def _read_results(path: Path | None) -> list[dict[str, Any]]:
    """The results written so far; a line still being written (the last) is left for later."""
    results: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines() if path is not None else []
    except OSError:
        return results
    for line in lines:
        try:
            results.append(json.loads(line))
        except ValueError:
            break
    return results
