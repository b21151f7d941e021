"""Tests for what makes a JobRunner's jobs outlive their process: inputs and the queued state on disk before
``submit`` returns, ``recover`` (a killed child process's job resumed or failed, a live one's left alone) and
``prune`` (finished jobs past the retention removed, from disk and memory)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.jobs.queue import RESTARTED, Job, JobBody, JobRunner, Reporter
from tests.service.jobs.dead import leave_job
from tests.service.jobs.test_queue import wait_for_status

INPUTS = [{"id": f"a{i}", "title": f"Story {i}", "text": f"Text {i}."} for i in range(4)]


def _result(i: int) -> dict[str, Any]:
    return {"id": f"a{i}", "title": f"Story {i}", "outcome": "created", "duplicate_of": None}


def _state(folder: Path, job_id: str) -> dict[str, Any]:
    return json.loads(next(folder.glob(f"*-{job_id}.json")).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _blocker(runner: JobRunner) -> threading.Event:
    """Occupy the runner's one worker until the returned event is set."""
    go_on = threading.Event()

    def body(report: Reporter) -> dict[str, Any]:
        go_on.wait(10)
        return {}

    runner.submit("citewire", body, 1)
    return go_on


def _carry_on(job: Job) -> JobBody:
    """A restarter that reports the results after those the job already has."""

    def body(report: Reporter) -> dict[str, Any]:
        for i in range(len(job.results), job.total):
            report(_result(i), i + 1, job.total)
        return {"created": job.total}

    return body


def test_inputs_and_the_queued_state_are_on_disk_when_submit_returns(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path)
    go_on = _blocker(runner)
    job = runner.submit("ingest", _carry_on(Job("x", "ingest", total=4)), 4, INPUTS)
    lines = (tmp_path / f"ingest-{job.id}.input.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == INPUTS
    assert _state(tmp_path, job.id)["status"] == "queued"  # behind the blocker, but already on disk
    assert runner.read_input(job) == INPUTS
    assert (tmp_path / f"ingest-{job.id}.lock").exists()  # held while the job is queued or running
    go_on.set()
    wait_for_status(runner, job.id, "done")
    _settled(tmp_path, job.id)  # the lock is let go of just after the final state is written
    assert _state(tmp_path, job.id)["finished_at"] is not None


def test_a_job_whose_input_cannot_be_saved_is_refused(tmp_path: Path) -> None:
    (tmp_path / "jobs").write_text("a file where the folder should be", encoding="utf-8")
    runner = JobRunner(tmp_path / "jobs")
    with pytest.raises(OSError):
        runner.submit("ingest", _carry_on(Job("x", "ingest", total=4)), 4, INPUTS)
    # A job without inputs (an evaluation) is accepted as before, and fails as before when it runs.
    job = runner.submit("citewire", lambda report: {"ok": 1}, 1)
    assert wait_for_status(runner, job.id, "failed").error is not None


def test_recover_carries_on_a_killed_process_job_from_its_results_so_far(tmp_path: Path) -> None:
    job_id = leave_job(tmp_path, "ingest", INPUTS, [_result(0), _result(1)])
    with (tmp_path / f"ingest-{job_id}.jsonl").open("a", encoding="utf-8") as out:
        out.write('{"id": "a2", "outc')  # killed in the middle of a line
    assert _state(tmp_path, job_id)["status"] == "running"

    runner = JobRunner(tmp_path)
    seen: list[int] = []

    def restart(job: Job) -> JobBody:
        assert runner.read_input(job) == INPUTS
        seen.append(len(job.results))
        return _carry_on(job)

    (taken,) = runner.recover(restart)
    assert taken.id == job_id and seen == [2]
    done = wait_for_status(runner, job_id, "done")
    assert [r["id"] for r in done.results] == ["a0", "a1", "a2", "a3"]  # one per input, in order
    assert (done.done, done.total, done.resumed) == (4, 4, 1)
    _settled(tmp_path, job_id)
    state = _state(tmp_path, job_id)
    assert (state["status"], state["resumed"], state["done"]) == ("done", 1, 4)
    lines = (tmp_path / f"ingest-{job_id}.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a0", "a1", "a2", "a3"]  # the torn line is gone
    assert JobRunner(tmp_path).get(job_id) is not None  # any process answers for it by the same id


def test_a_job_killed_after_its_last_result_is_finished_by_the_restart(tmp_path: Path) -> None:
    job_id = leave_job(tmp_path, "ingest", INPUTS, [_result(i) for i in range(4)])
    runner = JobRunner(tmp_path)
    runner.recover(_carry_on)
    done = wait_for_status(runner, job_id, "done")
    assert (done.done, [r["id"] for r in done.results], done.summary) == (4, ["a0", "a1", "a2", "a3"], {"created": 4})


def test_jobs_that_cannot_be_resumed_are_marked_failed(tmp_path: Path) -> None:
    evaluation = leave_job(tmp_path, "citewire", INPUTS, [_result(0)], save_inputs=False)
    no_input = leave_job(tmp_path, "ingest", INPUTS, save_inputs=False)
    damaged = leave_job(tmp_path, "ingest", INPUTS)
    (tmp_path / f"ingest-{damaged}.input.jsonl").write_text('{"id": "a0"}\n{"id": "a', encoding="utf-8")
    runner = JobRunner(tmp_path)

    def restart(job: Job) -> JobBody | None:
        if job.kind != "ingest":
            return None
        runner.read_input(job)
        raise AssertionError("no ingest here has a readable input")

    assert {job.id for job in runner.recover(restart)} == {evaluation, no_input, damaged}
    for job_id in (evaluation, no_input, damaged):
        job = runner.get(job_id)
        assert job is not None and job.status == "failed" and job.error is not None
        assert job.error.startswith(RESTARTED) and _state(tmp_path, job_id)["status"] == "failed"
        assert not list(tmp_path.glob(f"*-{job_id}.lock"))
    assert runner.get(evaluation).results == [_result(0)]  # type: ignore[union-attr]  # what it did is kept
    assert "cannot be resumed" in str(runner.get(evaluation).error)  # type: ignore[union-attr]
    assert "FileNotFoundError" in str(runner.get(no_input).error)  # type: ignore[union-attr]
    assert "JSONDecodeError" in str(runner.get(damaged).error)  # type: ignore[union-attr]


def test_a_job_a_live_process_holds_is_never_taken_over(tmp_path: Path) -> None:
    job_id = leave_job(tmp_path, "ingest", INPUTS)
    first, second = JobRunner(tmp_path), JobRunner(tmp_path)
    go_on = threading.Event()

    def slow(job: Job) -> JobBody:
        def body(report: Reporter) -> dict[str, Any]:
            go_on.wait(10)
            return _carry_on(job)(report)

        return body

    assert [j.id for j in first.recover(slow)] == [job_id]
    live = first.submit("ingest", slow(Job("y", "ingest", total=4)), 4, INPUTS)  # queued behind the resumed one
    assert second.recover(slow) == []  # both are held by a live runner: neither resumed twice, nor failed
    assert {_state(tmp_path, job_id)["status"], _state(tmp_path, live.id)["status"]} <= {"queued", "running"}
    go_on.set()
    assert wait_for_status(first, job_id, "done").resumed == 1
    wait_for_status(first, live.id, "done")


def _settled(folder: Path, job_id: str) -> None:
    """Wait until the job's final state is on disk: its lock goes last."""
    deadline = time.monotonic() + 5
    while list(folder.glob(f"*-{job_id}.lock")):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _age(folder: Path, job_id: str, hours: float) -> None:
    """Make a finished job look finished ``hours`` ago, on disk."""
    _settled(folder, job_id)
    path = next(folder.glob(f"*-{job_id}.json"))
    state = json.loads(path.read_text(encoding="utf-8"))
    state["finished_at"] = (datetime.now(UTC) - timedelta(hours=hours)).isoformat()
    path.write_text(json.dumps(state), encoding="utf-8")


def test_prune_removes_finished_jobs_past_the_retention_from_disk_and_memory(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path, retention_hours=1.0)
    old, recent = (runner.submit("ingest", _carry_on(Job("x", "ingest", total=4)), 4, INPUTS) for _ in range(2))
    for job in (old, recent):
        wait_for_status(runner, job.id, "done")
    legacy = leave_job(tmp_path, "citewire", INPUTS, save_inputs=False)  # a state file without finished_at
    JobRunner(tmp_path).recover()
    state = next(tmp_path.glob(f"*-{legacy}.json"))
    state.write_text(json.dumps({k: v for k, v in _state(tmp_path, legacy).items() if k != "finished_at"}))
    os.utime(state, (time.time() - 7200, time.time() - 7200))
    _age(tmp_path, old.id, 2.0)
    old.finished_at = (datetime.now(UTC) - timedelta(hours=2)).isoformat()  # as this process remembers it
    stray = tmp_path / "ingest-0123456789abcdef.input.jsonl"  # a crash between saving the input and the state
    stray.write_text("{}\n", encoding="utf-8")
    os.utime(stray, (time.time() - 7200, time.time() - 7200))

    assert runner.prune() == 2
    assert runner.get(old.id) is None and runner.get(legacy) is None
    assert not list(tmp_path.glob(f"*{old.id}*")) and not list(tmp_path.glob(f"*{legacy}*")) and not stray.exists()
    assert runner.get(recent.id) is not None and (tmp_path / f"ingest-{recent.id}.input.jsonl").exists()


def test_submit_prunes_at_most_hourly_and_zero_keeps_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = JobRunner(tmp_path / "keep", retention_hours=0.0)
    kept = keeper.submit("ingest", _carry_on(Job("x", "ingest", total=4)), 4, INPUTS)
    wait_for_status(keeper, kept.id, "done")
    _age(tmp_path / "keep", kept.id, 10_000.0)
    assert keeper.prune() == 0 and keeper.get(kept.id) is not None

    runner = JobRunner(tmp_path / "jobs", retention_hours=1.0)
    first = runner.submit("ingest", _carry_on(Job("x", "ingest", total=4)), 4, INPUTS)  # prunes (nothing yet)
    wait_for_status(runner, first.id, "done")
    _age(tmp_path / "jobs", first.id, 2.0)
    runner.submit("citewire", lambda report: {}, 1)  # within the hour: no second look
    assert (tmp_path / "jobs" / f"ingest-{first.id}.json").exists()
    monkeypatch.setattr("service.jobs.queue._PRUNE_EVERY_S", 0.0)
    runner.submit("citewire", lambda report: {}, 1)
    assert not (tmp_path / "jobs" / f"ingest-{first.id}.json").exists()
