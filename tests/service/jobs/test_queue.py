"""Tests for service.jobs.queue.JobRunner: jobs run in the background, and another process sharing the
data dir (another ``serve --workers`` worker) can answer for them from their files."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from service.jobs.queue import Job, JobRunner, Reporter


def wait_for_status(runner: JobRunner, job_id: str, status: str, timeout: float = 10) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = runner.get(job_id)
        if job is not None and job.status == status:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_another_runner_on_the_same_folder_sees_the_job_progress_and_finish(tmp_path: Path) -> None:
    mine, other = JobRunner(tmp_path / "jobs"), JobRunner(tmp_path / "jobs")
    halfway, go_on = threading.Event(), threading.Event()

    def body(report: Reporter) -> dict[str, Any]:
        report({"id": "a", "outcome": "created"}, 1, 2)
        halfway.set()
        go_on.wait(10)
        report({"id": "b", "outcome": "unchanged"}, 2, 2)
        return {"created": 1, "unchanged": 1}

    job = mine.submit("ingest", body, 2)
    assert halfway.wait(10)
    seen = other.get(job.id)
    assert seen is not None and seen is not job
    assert (seen.kind, seen.status, seen.done, seen.total) == ("ingest", "running", 1, 2)
    assert seen.results == [{"id": "a", "outcome": "created"}]
    go_on.set()
    wait_for_status(mine, job.id, "done")
    done = wait_for_status(other, job.id, "done")
    assert done.summary == {"created": 1, "unchanged": 1}
    assert [r["id"] for r in done.results] == ["a", "b"]


def test_a_failed_job_is_failed_for_the_other_runner_too(tmp_path: Path) -> None:
    mine, other = JobRunner(tmp_path / "jobs"), JobRunner(tmp_path / "jobs")

    def body(report: Reporter) -> dict[str, Any]:
        raise RuntimeError("the store went away")

    job = mine.submit("ingest", body, 3)
    wait_for_status(mine, job.id, "failed")
    failed = wait_for_status(other, job.id, "failed")
    assert failed.error == "RuntimeError: the store went away"


def test_unknown_and_malformed_ids_are_none(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path / "jobs")
    assert runner.get("0123456789abcdef") is None
    assert runner.get("../../etc/passwd") is None
    assert runner.get("*") is None
