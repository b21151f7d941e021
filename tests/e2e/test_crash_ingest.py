"""Crash safety with a real process: ``kill -9`` in the middle of a large ``citewire ingest``, then a
restart finds a consistent store (every article fully searchable or absent, BM25 in step with
Chroma), and running the same ingest again completes it without duplicates."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from index.chunking import chunk_text
from index.loaders import load_file
from service.components import build_components
from service.settings import Settings
from tests.e2e.servers import citewire

pytestmark = pytest.mark.slow
N = 160
WORDS = "harbour council budget tram school river bridge museum festival market station library".split()


def _text(i: int) -> str:
    """A distinct ~170-word article: two or three chunks, its own numbers and word order."""
    sentences = [
        f"Report {i} from district {i % 17}: the {WORDS[(i + k) % len(WORDS)]} plan number {i * 31 + k} was "
        f"discussed by {k + 3} members, who asked for {i * 7 + k} more days before the vote."
        for k in range(8)
    ]
    return " ".join(sentences)


def _write_corpus(path: Path) -> None:
    rows = [{"id": f"crash-{i:03d}", "title": f"Crash test story {i}", "text": _text(i)} for i in range(N)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def _ingest_until_killed(corpus: Path, data_dir: Path) -> int:
    """Start the CLI ingest, kill -9 it once it has stored a good part but not all; how far it got."""
    proc = subprocess.Popen(
        citewire("ingest", str(corpus), "--data-dir", str(data_dir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    progress = [0]

    def read_progress() -> None:
        assert proc.stderr is not None
        buffer = b""
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            buffer = (buffer + chunk)[-2000:]
            found = re.findall(rb"(\d+)/" + str(N).encode(), buffer)
            if found:
                progress[0] = int(found[-1])

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while progress[0] < N // 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    proc.kill()  # SIGKILL: no cleanup, no flush
    proc.wait()
    reader.join(5)
    return progress[0]


def test_kill_9_mid_ingest_then_restart_and_rerun(tmp_path: Path) -> None:
    corpus, data_dir = tmp_path / "corpus.jsonl", tmp_path / "data"
    _write_corpus(corpus)
    reached = _ingest_until_killed(corpus, data_dir)
    assert N // 3 <= reached < N

    # Restart: open the store as the service does.
    components = build_components(Settings(data_dir=data_dir))
    store = components.store
    stored = {s.article.id: s for s in store.list()}
    assert 0 < len(stored) < N
    chunks = store.chunks.get(include=["metadatas"])
    by_article: dict[str, int] = {}
    for meta in chunks["metadatas"] or []:
        assert meta is not None
        article_id = str(meta["article_id"])
        assert article_id in stored, f"chunk of {article_id}, an article that was never committed"
        assert meta["version"] == stored[article_id].version
        by_article[article_id] = by_article.get(article_id, 0) + 1
    for article_id, s in stored.items():
        assert by_article.get(article_id) == s.chunk_count, f"{article_id} is stored with missing chunks"
    assert store.sparse.chunk_ids() == set(chunks["ids"])  # BM25 rebuilt in step with Chroma

    # A question only an article that never made it could answer finds nothing of it.
    missing = next(f"crash-{i:03d}" for i in range(N) if f"crash-{i:03d}" not in stored)
    i = int(missing.split("-")[1])
    found = components.index.as_retriever(similarity_top_k=10).retrieve(_text(i)[:200])
    assert all(n.node.metadata["article_id"] in stored for n in found)
    del components, store

    # Running the same ingest again completes it, with no duplicates.
    rerun = subprocess.run(
        citewire("ingest", str(corpus), "--data-dir", str(data_dir), "--quiet"), capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    created = N - len(stored)
    assert f"{N} articles: {created} created, 0 replaced, {len(stored)} unchanged" in rerun.stdout
    final = build_components(Settings(data_dir=data_dir))
    assert final.store.count_articles() == N
    embedder = final.embedder
    expected_chunks = sum(len(chunk_text(a.text, embedder.counter, 128, 32)) for a in load_file(corpus))
    assert final.store.count_chunks() == expected_chunks
    assert len(final.store.sparse.chunk_ids()) == expected_chunks
