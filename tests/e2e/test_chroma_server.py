"""Beyond one box, with the real parts: a real ``chroma run`` server, ``citewire ingest seeds/`` into it
(CITEWIRE_CHROMA_URL), then over HTTP:

- ``citewire serve --workers 2`` (the tiny model, BM25-only retrieval, so finding a passage means the
  worker's own BM25 copy holds it): counts, listing, passage lookup, a write through one worker that
  the other one's retrieval finds, and the write's job answered by either worker;
- a second, single-worker ``citewire serve`` with its own data dir (another machine) and the default
  model, answering the seed question from the shared store with a checked citation.

Which worker answered is read from the server log, where each line names its worker's pid.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.servers import citewire, free_port, running, write_headers
from tests.e2e.test_seed_http import assert_citations_check_out

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"  # the CLI of the chromadb package in this environment
SEED_ID = "000_070c77320a5da855"
FERRY = {
    "id": "ferry-skarnhild",
    "title": "Hydrogen ferry Skarnhild to enter service in March",
    "source": "Vellmoor Gazette",
    "published_at": "2025-11-20",
    "text": "The Vellmoor ferry company said on Friday that its hydrogen ferry, the Skarnhild, will enter "
    "service in March on the route between Vellmoor and Ostra. The Skarnhild carries 300 passengers.",
}
FERRY_QUESTION = "When will the Skarnhild ferry enter service?"


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server holding the seed, ingested through the CLI."""
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(CHROMA), "run", "--path", str(root / "db"), "--host", "127.0.0.1"]
    with running([*args, "--port", str(port)], f"{url}/api/v2/heartbeat", root / "chroma.log", timeout=60):
        ingest = subprocess.run(
            citewire("ingest", str(REPO_ROOT / "seeds"), "--data-dir", str(root / "ingest"), "--quiet"),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "CITEWIRE_CHROMA_URL": url},
        )
        assert ingest.returncode == 0, ingest.stderr
        assert "1 created" in ingest.stdout
        yield url


def _wait_for(log: Path, pattern: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(re.findall(pattern, log.read_text(errors="replace"))) < count:
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)


@pytest.fixture
def other_machine(chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A single-worker server with its own data dir (its BM25 copy built from Chroma) and the default model.

    It runs first, on the seed alone: with the ferry article stored too (embedded store or server
    alike), the default model was seen to add a clause the seed does not state ("which is owned by
    Alibaba Group Holding") and the check rightly turned the answer into an abstention."""
    data_dir = tmp_path_factory.mktemp("other-machine")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = citewire("serve", "--data-dir", str(data_dir), "--port", str(port))
    with running(args, f"{base}/healthz", data_dir / "server.log", env={"CITEWIRE_CHROMA_URL": chroma_url}):
        yield base


def test_another_machine_answers_the_seed_question_from_the_shared_store(other_machine: str) -> None:
    response = httpx.post(
        f"{other_machine}/v1/query", json={"question": "Which AI model does Alibaba own?"}, timeout=300
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["abstained"] is False, body
    assert re.search(r"Qwen", body["answer"]), body["answer"]
    assert {c["article_id"] for c in body["citations"]} == {SEED_ID}
    assert_citations_check_out(other_machine, body)


class Workers:
    """The two-worker server: its URL, and which worker answered a request (from the log)."""

    def __init__(self, base: str, log: Path) -> None:
        self.base = base
        self.log = log

    def pid_of(self, request_line: str) -> int:
        """The pid of the worker whose access log line shows ``request_line`` (it must be unique)."""
        pattern = rf"\[(\d+)\] [\d.:]+ - \"{re.escape(request_line)} HTTP/1\.1\""
        deadline = time.monotonic() + 10
        while not (found := re.findall(pattern, self.log.read_text(errors="replace"))):
            assert time.monotonic() < deadline, f"no log line for {request_line}"
            time.sleep(0.1)
        assert len(found) == 1, found
        return int(found[0])

    def probe(self, n: int, question: str, article_id: str) -> tuple[int, dict[str, Any]]:
        """Ask about one article only (BM25 masked to it); the answering worker's pid and the response."""
        body = {"question": question, "filters": {"article_ids": [article_id]}}
        response = httpx.post(f"{self.base}/v1/query?probe={n}", json=body, timeout=120)
        assert response.status_code == 200, response.text
        return self.pid_of(f"POST /v1/query?probe={n}"), response.json()


@pytest.fixture(scope="module")
def workers(chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    data_dir = tmp_path_factory.mktemp("workers-data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CITEWIRE_CHROMA_URL": chroma_url,
        "CITEWIRE_LLM_MODEL": "tiny",
        "CITEWIRE_RETRIEVAL_MODE": "sparse",  # dense search reads Chroma itself: only BM25 can go stale
        "CITEWIRE_JUDGE_CLAIMS": "false",
        "CITEWIRE_MAX_ANSWER_TOKENS": "16",
        "CITEWIRE_SYNC_INGEST_ARTICLES": "0",  # every write is a job: its status must reach both workers
        "PYTHONUNBUFFERED": "1",  # the access log goes to stdout: every line at once
    }
    args = citewire("serve", "--workers", "2", "--data-dir", str(data_dir), "--port", str(port))
    log = data_dir / "server.log"
    with running(args, f"{base}/healthz", log, env=env, timeout=180):
        _wait_for(log, r"Application startup complete", 2)  # the first to be ready answers /healthz alone
        yield Workers(base, log)


def test_workers_report_the_shared_store(workers: Workers) -> None:
    health = httpx.get(f"{workers.base}/healthz", timeout=30).json()
    assert (health["status"], health["articles"]) == ("ok", 1)
    assert health["chunks"] >= 3
    listed = httpx.get(f"{workers.base}/v1/articles", timeout=30).json()
    assert [a["id"] for a in listed["articles"]] == [SEED_ID]
    text = httpx.get(f"{workers.base}/v1/articles/{SEED_ID}", timeout=30).json()["text"]
    start = text.index("Qwen")
    passage = httpx.get(
        f"{workers.base}/v1/articles/{SEED_ID}/passage", params={"start": start, "end": start + 4}, timeout=30
    ).json()
    assert passage["quote"] == "Qwen"
    assert passage["context"][passage["highlight_start"] : passage["highlight_end"]] == "Qwen"


def test_a_write_through_one_worker_reaches_the_other_workers_retrieval(workers: Workers) -> None:
    _, before = workers.probe(0, FERRY_QUESTION, FERRY["id"])
    assert before["abstained"] and before["timings_ms"]["generate"] == 0  # nothing to find: no generation

    headers = write_headers(workers.log.parent)
    response = httpx.post(f"{workers.base}/v1/articles?write=1", json=FERRY, headers=headers, timeout=60)
    assert response.status_code == 202, response.text
    writer = workers.pid_of("POST /v1/articles?write=1")
    job_id = response.json()["id"]
    pollers: set[int] = set()
    deadline = time.monotonic() + 60
    for n in range(200):  # every poll may land on either worker: both must know the job
        polled = httpx.get(f"{workers.base}/v1/jobs/{job_id}?poll={n}", timeout=30)
        assert polled.status_code == 200, polled.text
        pollers.add(workers.pid_of(f"GET /v1/jobs/{job_id}?poll={n}"))
        if polled.json()["status"] == "done" and len(pollers) == 2:
            break
        assert polled.json()["status"] in ("queued", "running", "done"), polled.json()
        assert time.monotonic() < deadline, polled.json()
    assert polled.json()["counts"] == {"created": 1, "unchanged": 0, "replaced": 0}
    assert len(pollers) == 2, pollers

    answered_by: set[int] = set()
    for n in range(1, 31):  # until the other worker has answered (the kernel picks who accepts)
        pid, body = workers.probe(n, FERRY_QUESTION, FERRY["id"])
        assert body["timings_ms"]["generate"] > 0, (pid, writer, body)  # BM25 found the new article
        answered_by.add(pid)
        if answered_by - {writer}:
            break
    assert answered_by - {writer}, f"only the writing worker {writer} answered"
