"""Crash safety of the HTTP server's background work, with real processes: ``kill -9`` while a 202 ingest job
runs, and the restarted server carries the job on to ``done`` under the same id (every article stored once,
Chroma and BM25 in step); ``kill -9`` in the middle of a DELETE, and the restart sweeps the chunks it left.

Landing the second kill inside a delete (after its commit point, the article record gone, before its chunks
are) takes no hook in the server: the test freezes it with SIGSTOP, looks at Chroma's SQLite file, and sends
SIGKILL at the first look that finds that state (else SIGCONT and look again), over as many deletes as it takes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.components import open_store
from service.settings import Settings
from tests.e2e.servers import citewire, free_port, running
from tests.service.jobs.test_ingest_recovery import assert_store_consistent

pytestmark = pytest.mark.slow
N = 48  # three ingest windows of 16: the kill lands after the first is reported
KEY = "crash-jobs-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
ENV = {
    "CITEWIRE_LLM_MODEL": "tiny",  # loaded at start, never asked
    "CITEWIRE_LLM_THREADS": "1",
    "CITEWIRE_API_KEY": KEY,
    "CITEWIRE_SYNC_INGEST_ARTICLES": "2",
}
WORDS = "harbour council budget tram school river bridge museum festival market station library".split()


def _article(i: int) -> dict[str, str]:
    """A distinct ~170-word article: two or three chunks."""
    text = " ".join(
        f"Report {i} from district {i % 17}: the {WORDS[(i + k) % len(WORDS)]} plan number {i * 31 + k} was "
        f"discussed by {k + 3} members, who asked for {i * 7 + k} more days before the vote."
        for k in range(8)
    )
    return {"id": f"job-{i:02d}", "title": f"Crash job story {i}", "text": text}


@contextmanager
def _server(data_dir: Path, name: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    args = citewire("serve", "--data-dir", str(data_dir), "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    with running(args, f"{base}/healthz", data_dir.parent / f"{name}.log", env=ENV) as proc:
        yield base, proc


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()  # SIGKILL: no shutdown, no flush
    proc.wait()


def _job(base: str, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _kill_mid_job(base: str, proc: subprocess.Popen[bytes], batch: list[dict[str, str]]) -> str:
    """POST the batch (a 202 job), then kill -9 the server once part of it is stored; the job's id."""
    response = httpx.post(f"{base}/v1/articles", json={"articles": batch}, headers=AUTH, timeout=30)
    assert response.status_code == 202, response.text
    job_id = str(response.json()["id"])
    deadline = time.monotonic() + 60
    while (job := _job(base, job_id))["done"] < 16:
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.02)
    _kill(proc)
    assert job["status"] == "running" and job["done"] < N, f"the job was not cut short: {job}"
    return job_id


def _frozen(pid: int) -> None:
    """SIGSTOP the process and wait until every thread of it has stopped."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while True:
        with contextlib.suppress(OSError):  # a thread may end meanwhile
            states = [
                (task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in Path(f"/proc/{pid}/task").iterdir()
            ]
            if all(state in ("T", "t") for state in states):
                return
        assert time.monotonic() < deadline, "the server did not stop"
        time.sleep(0.0005)


def _on_disk(db: Path, article_id: str, timeout: float = 0.05) -> tuple[bool, int] | None:
    """Whether Chroma's SQLite file holds the article's record, and how many of its chunks; None while locked.

    Chunk ids are ``<article id>::<version>::<n>`` and article ids hold no "::"."""
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=timeout)) as conn:
            rows = conn.execute(
                "SELECT embedding_id FROM embeddings WHERE embedding_id = ? OR embedding_id GLOB ?",
                (article_id, f"{article_id}::*"),
            ).fetchall()
    except sqlite3.OperationalError:
        return None
    ids = [row[0] for row in rows]
    return article_id in ids, sum("::" in i for i in ids)


def _kill_mid_delete(base: str, proc: subprocess.Popen[bytes], db: Path, ids: list[str]) -> tuple[str, list[str]]:
    """DELETE the articles one by one, freezing the server again and again during each, until a look finds one
    past its commit point with its chunks still there: then kill -9. That article, and the ones deleted before."""
    deleted: list[str] = []
    for article_id in ids:
        answered: list[int] = []

        def delete(article_id: str = article_id, answered: list[int] = answered) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the kill cuts the request
                response = httpx.delete(f"{base}/v1/articles/{article_id}", headers=AUTH, timeout=30)
                answered.append(response.status_code)

        request = threading.Thread(target=delete)
        request.start()
        while request.is_alive():
            _frozen(proc.pid)
            seen = _on_disk(db, article_id, timeout=0)
            if seen is not None and not seen[0] and seen[1] > 0:
                _kill(proc)
                request.join(10)
                return article_id, deleted
            os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.001)
        request.join()
        assert answered == [200]
        deleted.append(article_id)
    raise AssertionError(f"no look caught a delete between its commit point and its chunks in {len(ids)} deletes")


def test_kill_9_during_a_job_and_during_a_delete_then_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    batch = [_article(i) for i in range(N)]
    ids = [a["id"] for a in batch]

    with _server(data_dir, "first") as (base, proc):
        job_id = _kill_mid_job(base, proc, batch)

    with _server(data_dir, "second") as (base, proc):
        deadline = time.monotonic() + 60
        while (job := _job(base, job_id))["status"] != "done":
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.1)
        assert [r["id"] for r in job["results"]] == ids  # one result per article, in order
        assert sum(job["counts"].values()) == N and job["done"] == job["total"] == N
        deadline = time.monotonic() + 5  # the state file is written just after the job is done in memory
        while (state := json.loads((data_dir / "jobs" / f"ingest-{job_id}.json").read_text()))["status"] != "done":
            assert time.monotonic() < deadline, state
            time.sleep(0.02)
        assert state["resumed"] == 1
        listed = httpx.get(f"{base}/v1/articles", params={"limit": 1000}, timeout=10).json()
        assert listed["total"] == N and sorted(a["id"] for a in listed["articles"]) == ids

        db = data_dir / "chroma" / "chroma.sqlite3"
        victim, deleted = _kill_mid_delete(base, proc, db, ids[::-1])
    record, orphans = _on_disk(db, victim, timeout=5) or (True, 0)
    assert not record and orphans > 0, "the kill left no orphan chunks to sweep"

    with _server(data_dir, "third") as (base, proc):
        assert httpx.get(f"{base}/v1/articles/{victim}", timeout=10).status_code == 404
        listed = httpx.get(f"{base}/v1/articles", params={"limit": 1000}, timeout=10).json()
        assert sorted(a["id"] for a in listed["articles"]) == sorted(set(ids) - {victim, *deleted})
        assert _job(base, job_id)["status"] == "done"  # still answered for after another restart
    assert f"removed {orphans} chunks" in (tmp_path / "third.log").read_text()  # the restart swept them

    # Counted through the store itself, the server stopped: every chunk is a stored article's, all of them are there.
    store = open_store(Settings(data_dir=data_dir))
    stored = {s.article.id: s for s in store.list()}
    assert set(stored) == set(ids) - {victim, *deleted}
    assert_store_consistent(store)
    assert store.count_chunks() == sum(s.chunk_count for s in stored.values())
    assert not store.chunks.get(where={"article_id": victim}, include=[])["ids"]
