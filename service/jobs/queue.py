"""Background jobs for long HTTP work (evaluations, large ingests): one worker thread per runner, progress, results.

Generation is serial on a local model, so one worker is the honest capacity and queued jobs wait. A job's state (JSON),
results (JSONL, appended as they arrive) and input (JSONL, for jobs that can run again) sit side by side, so any process
sharing the data dir answers for any job, and a job outlives a crash: ``recover`` resumes it or marks it failed. A
queued or running job holds a lock on its ``.lock`` file, so a live process's jobs are never taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# A job body gets a reporter: report(result_or_None, done, total). It returns a summary dict.
Reporter = Callable[[dict[str, Any] | None, int, int], None]
JobBody = Callable[[Reporter], dict[str, Any]]
_JOB_ID = re.compile(r"[0-9a-f]{16}")
_STATE_FIELDS = ("id", "kind", "status", "done", "total", "summary", "error", "created_at")
_LATER_FIELDS = ("finished_at", "resumed")  # absent from state files written before jobs could be resumed
_FINISHED = ("done", "failed")
_PRUNE_EVERY_S = 3600.0
RESTARTED = "the server restarted before the job finished"


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
    finished_at: str | None = None
    resumed: int = 0  # how many times a restarted server took the job over

    def file(self, suffix: str) -> Path:
        """One of the job's files: ``.json`` (state), ``.jsonl`` (results), ``.input.jsonl``, ``.lock``."""
        assert self.results_path is not None
        return self.results_path.with_name(f"{self.kind}-{self.id}{suffix}")


# What carries a job a dead process left on (given the job, its results so far loaded), or None if it cannot be.
Restarter = Callable[[Job], JobBody | None]


class JobRunner:
    """Runs submitted jobs one at a time on a daemon thread.

    ``retention_hours``: finished jobs older than this are removed (files and memory) by ``prune``, which
    ``recover`` runs and ``submit`` repeats at most hourly; 0 keeps them."""

    def __init__(self, results_dir: Path, max_jobs: int = 100, retention_hours: float = 0.0) -> None:
        self._results_dir = results_dir
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[tuple[Job, JobBody]] = queue.Queue()
        self._lock = threading.Lock()
        self._locks: dict[str, int] = {}  # job id -> descriptor of its locked .lock file
        self._max_jobs = max_jobs
        self._retention_s = retention_hours * 3600.0
        self._pruned_at = float("-inf")
        self._thread = threading.Thread(target=self._work, name="citewire-jobs", daemon=True)
        self._thread.start()

    def submit(self, kind: str, body: JobBody, total: int, inputs: Sequence[Mapping[str, Any]] | None = None) -> Job:
        """Queue a job. With ``inputs`` (the records it works on, for ``recover`` to run it again) they and its
        queued state are on disk, fsync'd, before this returns; OSError if they cannot be."""
        if time.monotonic() - self._pruned_at >= _PRUNE_EVERY_S:
            self.prune()
        with self._lock:
            if sum(j.status in ("queued", "running") for j in self._jobs.values()) >= self._max_jobs:
                raise OverflowError("too many jobs waiting")
            job = Job(id=uuid.uuid4().hex[:16], kind=kind, total=total)
            job.results_path = self._results_dir / f"{kind}-{job.id}.jsonl"
            self._jobs[job.id] = job
        try:
            self._results_dir.mkdir(parents=True, exist_ok=True)
            self._claim(job)  # before the state exists: no other process may take this job for a dead one's
            if inputs is not None:
                _write_durably(job.file(".input.jsonl"), "".join(_line(r) for r in inputs))
            _publish(job, durable=inputs is not None)
        except OSError:
            if inputs is not None:  # a job that could not survive a crash is refused; others run from memory
                with self._lock:
                    self._jobs.pop(job.id, None)
                _remove_files(job)
                self._release(job)
                raise
        self._queue.put((job, body))
        return job

    def get(self, job_id: str) -> Job | None:
        """A job of this process, else one another process sharing the data dir runs or ran."""
        job = self._jobs.get(job_id)
        if job is not None or not _JOB_ID.fullmatch(job_id):
            return job
        state = next(iter(self._results_dir.glob(f"*-{job_id}.json")), None)
        return _load(state) if state is not None else None

    def read_input(self, job: Job) -> list[dict[str, Any]]:
        """The records a job was submitted with; ValueError or OSError when they are missing or damaged."""
        records = [json.loads(line) for line in job.file(".input.jsonl").read_text(encoding="utf-8").splitlines()]
        if len(records) != job.total or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{len(records)} records for a job of {job.total}")
        return records

    # -- start-up: jobs a dead process left, and old finished ones ------------------------------

    def recover(self, restart: Restarter | None = None) -> list[Job]:
        """Prune, then take over every job left queued or running by a process that is gone (its lock is free).

        ``restart`` gives the body that carries a job on (the job holds its results so far); a job it cannot
        carry on (None, or an error: say its input is damaged) is marked failed. The jobs taken over, oldest first."""
        self.prune()
        left = [job for job in self._on_disk() if job.status not in _FINISHED]
        taken: list[Job] = []
        for job in sorted(left, key=lambda j: j.created_at):
            try:
                claimed = self._claim(job)
            except OSError:  # its lock file cannot be opened: leave the job alone
                claimed = False
            if not claimed:
                continue  # a live process runs it
            job = _load(job.file(".json")) or job  # read again under the lock: it may have finished meanwhile
            if job.status in _FINISHED:
                self._release(job)
                continue
            try:
                body = restart(job) if restart is not None else None
                why = "it cannot be resumed"
            except Exception as exc:  # one job's damaged input must not keep the server from starting
                body, why = None, f"its saved input cannot be read ({type(exc).__name__}: {exc})"
            with self._lock:
                self._jobs[job.id] = job
            taken.append(job)
            if body is None:
                self._finish(job, "failed", f"{RESTARTED}, and {why}")
                continue
            job.status, job.resumed, job.done = "queued", job.resumed + 1, len(job.results)
            assert job.results_path is not None
            try:
                _write_durably(job.results_path, "".join(_line(r) for r in job.results))  # drop a half-written line
            except OSError as exc:
                self._finish(job, "failed", f"{RESTARTED}, and its results cannot be written ({exc})")
                continue
            _publish(job)
            self._queue.put((job, body))
        return taken

    def prune(self) -> int:
        """Remove finished jobs older than the retention, and inputs no state names; how many jobs went."""
        self._pruned_at = time.monotonic()
        if self._retention_s <= 0:
            return 0
        cutoff = time.time() - self._retention_s
        gone = [job for job in self._on_disk() if job.status in _FINISHED and _finished_time(job) < cutoff]
        for job in gone:
            _remove_files(job)
        for orphan in self._results_dir.glob("*.input.jsonl"):  # a crash between the input and the state
            if not orphan.with_name(orphan.name.replace(".input.jsonl", ".json")).exists():
                with contextlib.suppress(OSError):
                    if orphan.stat().st_mtime < cutoff:
                        orphan.unlink()
        with self._lock:
            for job in [*gone, *self._jobs.values()]:
                if job.status in _FINISHED and _finished_time(job) < cutoff:
                    self._jobs.pop(job.id, None)
        return len(gone)

    def _on_disk(self) -> list[Job]:
        """Every job with a state file here, without its results (read when needed)."""
        return [job for state in self._results_dir.glob("*-*.json") if (job := _load(state, False)) is not None]

    # -- locks: a queued or running job's lock is held by the process that will run it ----------

    def _claim(self, job: Job) -> bool:
        """Lock the job's lock file; False when another live process holds it (the kernel frees a dead one's)."""
        fd = os.open(job.file(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._locks[job.id] = fd
        return True

    def _release(self, job: Job) -> None:
        fd = self._locks.pop(job.id, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                job.file(".lock").unlink()
            os.close(fd)

    # -- the worker ------------------------------------------------------------------------------

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
            assert job.results_path is not None
            with job.results_path.open("a", encoding="utf-8") as out:

                def report(result: dict[str, Any] | None, done: int, total: int) -> None:
                    if result is not None:
                        out.write(_line(result))
                        out.flush()
                        job.results.append(result)
                    job.done, job.total = done, total
                    _publish(job)

                job.summary = body(report)
            self._finish(job, "done")
        except Exception as exc:  # a failed job is reported, never takes the server down
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}")

    def _finish(self, job: Job, status: str, error: str | None = None) -> None:
        job.status, job.error, job.finished_at = status, error, datetime.now(UTC).isoformat()
        _publish(job)
        self._release(job)  # after the final state: whoever takes the lock next reads it finished


def _publish(job: Job, durable: bool = False) -> None:
    """Write the job's state beside its results, atomically: readers in other processes never see half.

    Best effort unless ``durable`` (then fsync'd, and OSError raised): this process answers from memory."""
    text = json.dumps({k: getattr(job, k) for k in (*_STATE_FIELDS, *_LATER_FIELDS)}, default=str)
    if durable:
        _write_durably(job.file(".json"), text)
        return
    with contextlib.suppress(OSError):
        job.file(".json").parent.mkdir(parents=True, exist_ok=True)
        _write_durably(job.file(".json"), text, sync=False)


def _write_durably(path: Path, text: str, sync: bool = True) -> None:
    """Whole or not at all: a temp file, fsync'd (with ``sync``), renamed over ``path``, then the folder fsync'd."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(text)
        if sync:
            out.flush()
            os.fsync(out.fileno())
    os.replace(tmp, path)
    if sync:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _load(state: Path, with_results: bool = True) -> Job | None:
    """The job a state file describes, with its results so far; None when the file cannot be read."""
    try:
        fields = json.loads(state.read_text(encoding="utf-8"))
        later = {k: fields[k] for k in _LATER_FIELDS if fields.get(k) is not None}
        job = Job(**{k: fields[k] for k in _STATE_FIELDS}, **later, results_path=state.with_suffix(".jsonl"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    job.results = _read_results(job.results_path) if with_results else []
    return job


def _finished_time(job: Job) -> float:
    """When the job finished (its state file's time if it predates ``finished_at``); +inf if unknown."""
    with contextlib.suppress(ValueError, TypeError):
        return datetime.fromisoformat(str(job.finished_at)).timestamp()
    try:
        return job.file(".json").stat().st_mtime
    except OSError:
        return float("inf")


def _remove_files(job: Job) -> None:
    for suffix in (".json", ".jsonl", ".input.jsonl"):
        with contextlib.suppress(OSError):
            job.file(suffix).unlink()


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
