"""A job left behind by a process that died: a real child process submits it, reports some results, and is
killed with SIGKILL while the job runs (so its lock is freed by the kernel, as in a real crash)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_CHILD = """
import json, sys, threading
from pathlib import Path
from service.jobs.queue import JobRunner

spec = json.loads(sys.stdin.read())

def body(report):
    for i, result in enumerate(spec["results"], start=1):
        report(result, i, len(spec["inputs"]))
    threading.Event().wait()  # the job is still running when the process is killed

runner = JobRunner(Path(spec["folder"]))
inputs = spec["inputs"] if spec["save_inputs"] else None
job = runner.submit(spec["kind"], body, len(spec["inputs"]), inputs)
print(job.id, flush=True)
threading.Event().wait()
"""


def leave_job(
    folder: Path,
    kind: str,
    inputs: list[dict[str, Any]],
    results: list[dict[str, Any]] | None = None,
    save_inputs: bool = True,
) -> str:
    """Run a job in a child process until it has reported ``results``, then SIGKILL the child; the job's id."""
    spec: dict[str, Any] = {
        "folder": str(folder),
        "kind": kind,
        "inputs": inputs,
        "results": results or [],
        "save_inputs": save_inputs,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(spec).encode("utf-8"))
        child.stdin.close()
        job_id = child.stdout.readline().decode().strip()
        assert job_id, child.stderr.read().decode() if child.stderr else "no job id"
        state = next(folder.glob(f"*-{job_id}.json"))
        deadline = time.monotonic() + 10
        while json.loads(state.read_text(encoding="utf-8"))["done"] < len(spec["results"]):
            assert time.monotonic() < deadline, "the child never reported its results"
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    return job_id
