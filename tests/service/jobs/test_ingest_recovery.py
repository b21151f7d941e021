"""Tests for background ingests that outlive a crash, and the orphan sweep, with real parts: Chroma on disk, the
BM25 copy, the real MiniLM. A crashed server is a child process killed with SIGKILL (tests/service/jobs/dead.py);
an interrupted delete is its commit point (the article record removed) without the steps after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.articles import Article
from index.embedding import Embedder
from index.ingest import ingest_articles
from index.loaders import article_from_record
from index.store import ArticleStore
from service.components import Components, build_components, build_engine
from service.http.app import create_app
from service.jobs.ingestion import Ingestor, saved_article
from service.jobs.queue import RESTARTED, JobRunner
from service.settings import Settings
from tests.service.fakes import ScriptedLLM
from tests.service.jobs.dead import leave_job
from tests.service.jobs.test_queue import wait_for_status

TOPICS = "harbour council budget tram school river bridge museum festival market station library".split()


def _article(i: int, version: int = 1) -> Article:
    """A distinct ~140-word article (two chunks), dated, with a source: every field goes through the input file."""
    text = " ".join(
        f"Report {i}.{version} from district {i % 7}: the {TOPICS[(i + k) % len(TOPICS)]} plan {i * 31 + k} was "
        f"discussed by {k + 3} members, who asked for {i * 7 + k} more days."
        for k in range(7)
    )
    return Article(
        id=f"story-{i:02d}",
        title=f"Story {i}",
        text=text,
        source="Example News",
        url=f"https://example.com/news/2024/03/{i + 1:02d}/story-{i}",
        published_at=f"2024-03-{i + 1:02d}",
        section="Local",
        author="A. Writer",
        lang="en",
    )


ARTICLES = [_article(i) for i in range(6)]


def _saved(articles: list[Article]) -> list[dict[str, Any]]:
    """A batch as ``Ingestor.submit`` saves it, for a dead child process to submit."""
    return [{**asdict(a), "version": a.version} for a in articles]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def components(settings: Settings, reuse_embedder: Embedder) -> Components:
    return build_components(settings)


def _chunks_of(store: ArticleStore, article_id: str) -> tuple[set[str], set[str]]:
    """The article's chunk ids in Chroma, and in the BM25 copy."""
    in_chroma = set(store.chunks.get(where={"article_id": article_id}, include=[])["ids"])
    in_bm25 = {cid for cid in store.sparse.chunk_ids() if cid.startswith(f"{article_id}::")}
    return in_chroma, in_bm25


def assert_store_consistent(store: ArticleStore) -> None:
    """Every chunk is one of a committed article's (its version), and every committed article has them all."""
    stored = {s.article.id: s for s in store.list()}
    chunks = store.chunks.get(include=["metadatas"])
    per_article: dict[str, int] = {}
    for meta in chunks["metadatas"] or []:
        assert meta is not None and stored[str(meta["article_id"])].version == meta["version"]
        per_article[str(meta["article_id"])] = per_article.get(str(meta["article_id"]), 0) + 1
    assert per_article == {aid: s.chunk_count for aid, s in stored.items()}
    assert store.sparse.chunk_ids() == set(chunks["ids"])


def test_submit_saves_the_batch_and_the_queued_state_before_it_returns(components: Components) -> None:
    ingestor = Ingestor(components, JobRunner(components.settings.data_dir / "jobs"))
    go_on = threading.Event()
    ingestor.jobs.submit("ingest", lambda report: {"waited": go_on.wait(30)}, 1)  # the worker is busy
    job = ingestor.submit(ARTICLES)
    assert ingestor.jobs.get(job.id).status == "queued"  # type: ignore[union-attr]
    assert JobRunner(components.settings.data_dir / "jobs").get(job.id).status == "queued"  # type: ignore[union-attr]
    # Every article comes back exactly (same fields, so same version), though loading again would not keep
    # them all: the loader gives a bare date a time.
    saved = ingestor.jobs.read_input(job)
    assert [saved_article(r) for r in saved] == ARTICLES
    assert article_from_record(saved[0]).published_at != ARTICLES[0].published_at
    tampered = {**saved[0], "text": saved[0]["text"] + " More."}
    with pytest.raises(ValueError, match="not the one accepted"):
        saved_article(tampered)
    go_on.set()
    done = wait_for_status(ingestor.jobs, job.id, "done", timeout=60)
    assert done.summary == {"created": 6, "unchanged": 0, "replaced": 0}
    assert components.store.count_articles() == 6


def test_recover_carries_on_an_ingest_a_killed_server_left(components: Components) -> None:
    jobs = components.settings.data_dir / "jobs"
    before = Ingestor(components, JobRunner(jobs)).ingest(ARTICLES[:3])
    # The dead server had stored three articles and reported two of them when it was killed.
    job_id = leave_job(jobs, "ingest", _saved(ARTICLES), before[:2])

    restarted = Ingestor(components, JobRunner(jobs))
    assert [job.id for job in restarted.recover()] == [job_id]
    done = wait_for_status(restarted.jobs, job_id, "done", timeout=60)
    assert [r["id"] for r in done.results] == [a.id for a in ARTICLES]  # one per article, in order
    assert [r["outcome"] for r in done.results] == ["created", "created", "unchanged", "created", "created", "created"]
    assert done.summary == {"created": 5, "unchanged": 1, "replaced": 0}
    assert (done.done, done.total, done.resumed) == (6, 6, 1)
    assert JobRunner(jobs).get(job_id).resumed == 1  # type: ignore[union-attr]  # the state file says so
    assert components.store.count_articles() == 6
    assert_store_consistent(components.store)


def test_an_ingest_whose_input_is_damaged_is_failed_not_resumed(components: Components) -> None:
    jobs = components.settings.data_dir / "jobs"
    job_id = leave_job(jobs, "ingest", _saved(ARTICLES))
    (jobs / f"ingest-{job_id}.input.jsonl").write_text('{"id": "story-00", "text": ""}\n', encoding="utf-8")
    restarted = Ingestor(components, JobRunner(jobs))
    (job,) = restarted.recover()
    assert job.status == "failed" and job.error is not None and job.error.startswith(RESTARTED)
    assert components.store.count_articles() == 0


def test_recover_sweeps_the_chunks_a_killed_delete_left(settings: Settings, components: Components) -> None:
    ingest_articles(ARTICLES[:3], components.store, components.embedder, components.chunking)
    victim = ARTICLES[0].id
    components.store.articles.delete(ids=[victim])  # the delete's commit point, then the kill
    # The restart: the saved BM25 copy is in step with Chroma, so opening the store keeps the orphans.
    reopened = build_components(settings)
    in_chroma, in_bm25 = _chunks_of(reopened.store, victim)
    assert len(in_chroma) >= 2 and in_bm25 == in_chroma

    Ingestor(reopened, JobRunner(settings.data_dir / "jobs")).recover()
    assert _chunks_of(reopened.store, victim) == (set(), set())
    assert reopened.store.count_articles() == 2
    assert_store_consistent(reopened.store)
    assert reopened.store.sweep_orphans() == 0  # nothing more on the next start
    assert _chunks_of(build_components(settings).store, victim) == (set(), set())  # the saved BM25 copy too


def test_sweep_removes_the_old_version_chunks_an_interrupted_replace_left(components: Components) -> None:
    store = components.store
    ingest_articles(ARTICLES[:2], store, components.embedder, components.chunking)
    old = store.chunks.get(where={"article_id": ARTICLES[0].id}, include=["documents", "metadatas", "embeddings"])
    ingest_articles([_article(0, version=2)], store, components.embedder, components.chunking)
    new_chunks = _chunks_of(store, ARTICLES[0].id)[0]
    # Killed after the new record's commit, before the old version's chunks went.
    store.chunks.add(
        ids=old["ids"], documents=old["documents"], metadatas=old["metadatas"], embeddings=old["embeddings"]
    )
    store.sparse.apply(store._scan_sparse_docs(), [])

    assert store.sweep_orphans() == len(old["ids"])
    assert _chunks_of(store, ARTICLES[0].id) == (new_chunks, new_chunks)
    assert_store_consistent(store)


def test_with_a_grace_period_a_write_that_commits_meanwhile_keeps_its_chunks(components: Components) -> None:
    store = components.store
    ingest_articles(ARTICLES[:3], store, components.embedder, components.chunking)
    writing, orphan = ARTICLES[1].id, ARTICLES[2].id
    record = store.articles.get(ids=[writing], include=["documents", "metadatas", "embeddings"])
    # Another process's write of ``writing`` has its chunks in but not yet its record; ``orphan`` was deleted.
    store.articles.delete(ids=[writing, orphan])
    commit = threading.Timer(
        0.3,
        lambda: store.articles.add(
            ids=record["ids"],
            documents=record["documents"],
            metadatas=record["metadatas"],
            embeddings=record["embeddings"],
        ),
    )
    kept, orphaned = _chunks_of(store, writing), _chunks_of(store, orphan)[0]
    commit.start()
    assert store.sweep_orphans(grace_s=1.5) == len(orphaned)  # both looked orphaned at first
    commit.join()
    assert _chunks_of(store, writing) == kept and _chunks_of(store, orphan) == (set(), set())
    assert_store_consistent(store)


@pytest.fixture
def restarted_app(settings: Settings, components: Components, restore_torch_threads: None) -> Iterator[TestClient]:
    """A dead server's ingest and evaluation left in the data dir, then the app started over it."""
    Ingestor(components, JobRunner(settings.data_dir / "jobs")).ingest(ARTICLES[:1])
    old = JobRunner(settings.data_dir / "jobs")
    finished = wait_for_status(old, old.submit("ingest", lambda report: {}, 0, []).id, "done", timeout=60)
    while (settings.data_dir / "jobs" / f"ingest-{finished.id}.lock").exists():  # its final state is written first
        time.sleep(0.01)
    state = settings.data_dir / "jobs" / f"ingest-{finished.id}.json"
    state.write_text(state.read_text().replace(str(finished.finished_at), "2000-01-01T00:00:00+00:00"))
    leave_job(settings.data_dir / "jobs", "ingest", _saved(ARTICLES[:4]))
    leave_job(settings.data_dir / "eval", "citewire", [{"id": "q1"}, {"id": "q2"}], save_inputs=False)
    app = create_app(settings, engine=build_engine(components, llm=ScriptedLLM()), components=components)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_the_app_resumes_ingests_and_fails_evaluations_at_start(settings: Settings, restarted_app: TestClient) -> None:
    ingest_id = next((settings.data_dir / "jobs").glob("ingest-*.input.jsonl")).name.split("-")[1].split(".")[0]
    eval_id = next((settings.data_dir / "eval").glob("citewire-*.json")).stem.split("-")[1]
    deadline = time.monotonic() + 60
    while (job := restarted_app.get(f"/v1/jobs/{ingest_id}").json())["status"] != "done":
        assert time.monotonic() < deadline and job["status"] in ("queued", "running"), job
        time.sleep(0.05)
    assert job["counts"] == {"created": 3, "unchanged": 1, "replaced": 0}
    assert [r["id"] for r in job["results"]] == [a.id for a in ARTICLES[:4]]
    assert restarted_app.get("/v1/articles").json()["total"] == 4
    assert len(list((settings.data_dir / "jobs").glob("ingest-*.json"))) == 1  # the old finished one was pruned
    evaluation = restarted_app.get(f"/v1/eval/{eval_id}").json()
    assert evaluation["status"] == "failed" and evaluation["error"].startswith(RESTARTED)
