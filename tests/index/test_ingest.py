"""Tests for index.ingest and index.store against a real on-disk Chroma and the real MiniLM embedder."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.articles import Article, title_from_text
from index.chroma import open_client
from index.chunking import chunk_text
from index.embedding import Embedder
from index.ingest import WRITE_WINDOW, ChunkingPolicy, Outcome, ingest_articles
from index.loaders import load_file
from index.records import Lookup, WriteItem, chunk_id
from index.store import ArticleStore

POLICY = ChunkingPolicy(128, 32)
CORRECTION = "\n\nCorrection: an earlier version of this article misstated the number of companies as 52."


@pytest.fixture
def seed_article(seed_path: Path) -> Article:
    return next(load_file(seed_path))


@pytest.fixture
def chroma_dir(tmp_path: Path) -> Path:
    return tmp_path / "chroma"


@pytest.fixture
def store(chroma_dir: Path) -> Iterator[ArticleStore]:
    client = open_client(chroma_dir)
    yield ArticleStore(client)
    client.close()


def _chunks_of(store: ArticleStore, article_id: str | None = None) -> dict[str, Any]:
    where = {"article_id": article_id} if article_id else None
    return store.chunks.get(where=where, include=["metadatas", "documents"])


def _expected_chunk_count(article: Article, embedder: Embedder) -> int:
    return len(chunk_text(article.text, embedder.counter, POLICY.max_tokens, POLICY.overlap_tokens))


def _other_article() -> Article:
    return Article(
        id="other-article",
        title="Central bank holds rate",
        text="The central bank kept its key rate unchanged on Tuesday. Analysts had expected the decision.",
        source="Example News",
        lang="en",
    )


def test_ingest_new_then_unchanged(store: ArticleStore, embedder: Embedder, seed_article: Article) -> None:
    seen: list[tuple[str, Outcome]] = []
    report = ingest_articles([seed_article], store, embedder, POLICY, on_article=lambda a, o: seen.append((a.id, o)))
    assert report.outcomes == {seed_article.id: Outcome.CREATED}
    assert seen == [(seed_article.id, Outcome.CREATED)]
    stored = store.get(seed_article.id)
    assert stored is not None
    expected = _expected_chunk_count(seed_article, embedder)
    assert expected > 0
    assert report.chunks_written == expected
    assert stored.chunk_count == expected == store.count_chunks()
    assert stored.version == seed_article.version
    assert store.count_articles() == 1

    again = ingest_articles([seed_article], store, embedder, POLICY)
    assert again.outcomes == {seed_article.id: Outcome.UNCHANGED}
    assert again.chunks_written == 0
    assert again.count(Outcome.UNCHANGED) == 1
    assert store.count_chunks() == expected
    assert store.count_articles() == 1


def test_replace_removes_old_version(store: ArticleStore, embedder: Embedder, seed_article: Article) -> None:
    other = _other_article()
    ingest_articles([seed_article, other], store, embedder, POLICY)
    other_chunk_ids = sorted(_chunks_of(store, other.id)["ids"])
    old_ids = set(_chunks_of(store, seed_article.id)["ids"])

    modified = dataclasses.replace(seed_article, text=seed_article.text + CORRECTION)
    assert modified.id == seed_article.id and modified.version != seed_article.version
    report = ingest_articles([modified], store, embedder, POLICY)
    assert report.outcomes == {modified.id: Outcome.REPLACED}

    got = _chunks_of(store, modified.id)
    new_count = _expected_chunk_count(modified, embedder)
    assert {m["version"] for m in got["metadatas"]} == {modified.version}
    assert len(got["ids"]) == new_count == report.chunks_written
    assert not old_ids & set(got["ids"])
    assert any("Correction: an earlier version" in doc for doc in got["documents"])
    stored = store.get(modified.id)
    assert stored is not None
    assert stored.version == modified.version
    assert stored.chunk_count == new_count
    assert stored.article.text == modified.text
    # the other article is untouched
    assert sorted(_chunks_of(store, other.id)["ids"]) == other_chunk_ids
    assert store.count_chunks() == new_count + len(other_chunk_ids)


def test_stored_chunks_point_at_stored_text(store: ArticleStore, embedder: Embedder, seed_article: Article) -> None:
    other = _other_article()
    ingest_articles([seed_article, other], store, embedder, POLICY)
    got = _chunks_of(store)
    assert len(got["ids"]) == len(set(got["ids"])) == store.count_chunks()
    by_article: dict[str, list[int]] = {}
    texts: dict[str, str] = {}
    for cid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True):
        aid = meta["article_id"]
        if aid not in texts:
            stored = store.get(aid)
            assert stored is not None
            texts[aid] = stored.article.text
        start, end = int(meta["start"]), int(meta["end"])
        assert texts[aid][start:end] == doc
        assert cid == chunk_id(aid, str(meta["version"]), int(meta["chunk_index"]))
        by_article.setdefault(aid, []).append(int(meta["chunk_index"]))
    assert set(by_article) == {seed_article.id, other.id}
    for aid, indexes in by_article.items():
        assert sorted(indexes) == list(range(len(indexes))), aid


def test_stored_article_round_trips(store: ArticleStore, embedder: Embedder, seed_article: Article) -> None:
    ingest_articles([seed_article], store, embedder, POLICY)
    stored = store.get(seed_article.id)
    assert stored is not None
    assert stored.article == seed_article
    assert stored.article.version == stored.version
    assert store.version_of(seed_article.id) == seed_article.version
    assert store.get("no-such-article") is None
    assert store.version_of("no-such-article") is None


def test_delete_removes_article_and_chunks(store: ArticleStore, embedder: Embedder, seed_article: Article) -> None:
    other = _other_article()
    ingest_articles([seed_article, other], store, embedder, POLICY)
    other_chunks = len(_chunks_of(store, other.id)["ids"])
    assert store.delete(seed_article.id) is True
    assert store.get(seed_article.id) is None
    assert _chunks_of(store, seed_article.id)["ids"] == []
    assert store.count_articles() == 1
    assert store.count_chunks() == other_chunks
    assert store.delete(seed_article.id) is False
    # deleted articles are created again, not reported unchanged
    report = ingest_articles([seed_article], store, embedder, POLICY)
    assert report.outcomes == {seed_article.id: Outcome.CREATED}


def test_reopen_from_disk_sees_same_data(chroma_dir: Path, embedder: Embedder, seed_article: Article) -> None:
    client = open_client(chroma_dir)
    first = ArticleStore(client)
    ingest_articles([seed_article], first, embedder, POLICY)
    ids_before = sorted(_chunks_of(first)["ids"])
    stored_before = first.get(seed_article.id)
    client.close()

    reopened_client = open_client(chroma_dir)
    try:
        reopened = ArticleStore(reopened_client)
        assert sorted(_chunks_of(reopened)["ids"]) == ids_before
        assert reopened.get(seed_article.id) == stored_before
        report = ingest_articles([seed_article], reopened, embedder, POLICY)
        assert report.outcomes == {seed_article.id: Outcome.UNCHANGED}
    finally:
        reopened_client.close()


def test_a_store_from_before_undated_day_is_backfilled_once_on_open(chroma_dir: Path, embedder: Embedder) -> None:
    """Chunks written by older code had no ``published_day``: date filters and ``as_of`` missed them."""
    from datetime import date

    from index.filters import UNDATED_DAY

    undated = Article(id="undated", title="A story", text="The council met on Monday. It approved the budget.")
    dated = Article(id="dated", title="Another", text="The mayor resigned on Friday.", published_at="2023-05-05")
    client = open_client(chroma_dir)
    try:
        old = ArticleStore(client)
        ingest_articles([undated, dated], old, embedder, POLICY)
        ids = _chunks_of(old)["ids"]
        old.chunks.update(ids=ids, metadatas=[{"published_day": None}] * len(ids))  # None deletes the key
        old.chunks.modify(metadata={"citewire_embedder": "minilm"})  # and the collection was never marked
        assert all("published_day" not in m for m in _chunks_of(old)["metadatas"])
        assert old.chunks.get(where={"published_day": {"$lte": date(2024, 1, 1).toordinal()}})["ids"] == []

        reopened = ArticleStore(client)
        days = {m["article_id"]: m["published_day"] for m in _chunks_of(reopened)["metadatas"]}
        assert days == {"undated": UNDATED_DAY, "dated": date(2023, 5, 5).toordinal()}
        assert sorted(reopened.chunks.get(where={"published_day": {"$lte": date(2024, 1, 1).toordinal()}})["ids"]) == (
            sorted(ids)
        )
        assert reopened.chunks.metadata["citewire_embedder"] == "minilm"  # the backfill mark keeps the rest
        assert reopened.chunks.configuration["hnsw"]["space"] == "cosine"  # type: ignore[index]
    finally:
        client.close()


def test_one_batch_with_repeats_stores_each_story_once(
    store: ArticleStore, embedder: Embedder, seed_article: Article
) -> None:
    """Repeats within one batch are caught although the write before them may still be in flight."""
    twin = dataclasses.replace(seed_article, id="seed-under-another-name", url=None)
    corrected = dataclasses.replace(seed_article, text=seed_article.text + CORRECTION)
    batch = [seed_article, twin, _other_article(), seed_article, corrected]
    seen: list[tuple[str, Outcome]] = []
    report = ingest_articles(batch, store, embedder, POLICY, on_article=lambda a, o: seen.append((a.id, o)))
    assert seen == [
        (seed_article.id, Outcome.CREATED),
        (twin.id, Outcome.UNCHANGED),
        ("other-article", Outcome.CREATED),
        (seed_article.id, Outcome.UNCHANGED),
        (seed_article.id, Outcome.REPLACED),
    ]
    assert report.duplicate_of == {twin.id: seed_article.id}
    assert store.count_articles() == 2
    stored = store.get(seed_article.id)
    assert stored is not None and stored.version == corrected.version
    assert store.count_chunks() == _expected_chunk_count(corrected, embedder) + 1


NEWSLETTER = (
    "We will use the details you have shared to manage your registration. "
    "Would you like to receive The WeekDay newsletter?"
)


def test_a_template_page_under_different_headlines_is_one_article_per_headline(
    store: ArticleStore, embedder: Embedder
) -> None:
    """Scraped pages whose body is a newsletter template: each headline is what its page says, so
    each is stored and found by it; the same headline again, or none, is still the one copy."""
    pages = [
        Article(id="rutte", title="Mark Rutte: longest-serving Dutch PM set to leave politics", text=NEWSLETTER),
        Article(id="lion", title="Residents told to stay indoors after lion seen near Berlin", text=NEWSLETTER),
        Article(id="lion-again", title="Residents told to stay indoors after LION seen near Berlin", text=NEWSLETTER),
    ]
    report = ingest_articles(pages, store, embedder, POLICY)
    assert report.outcomes == {"rutte": Outcome.CREATED, "lion": Outcome.CREATED, "lion-again": Outcome.UNCHANGED}
    assert report.duplicate_of == {"lion-again": "lion"}
    untitled = Article(id="untitled", title=title_from_text(NEWSLETTER), text=NEWSLETTER)  # as loaders fill it
    later = ingest_articles([untitled], store, embedder, POLICY)  # against the stored copies this time
    assert later.duplicate_of == {"untitled": "rutte"}
    top = store.fresh_sparse().search("Dutch prime minister Rutte leaves politics", 1).top
    assert top and top[0][0].startswith("rutte::")


def test_a_failed_write_stops_the_batch_after_reporting_what_was_stored(
    store: ArticleStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_many = store.write_many

    def failing(items: Sequence[WriteItem]) -> None:
        if any(article.id == "other-article" for article, _, _ in items):
            raise OSError("disk full")
        write_many(items)

    monkeypatch.setattr(store, "write_many", failing)
    seen: list[str] = []
    first_window = _numbered(WRITE_WINDOW)
    third = dataclasses.replace(_other_article(), id="third", text="A third story about trams.")
    batch = [*first_window, _other_article(), *_numbered(WRITE_WINDOW + 3)[WRITE_WINDOW:], third]
    with pytest.raises(OSError, match="disk full"):
        ingest_articles(batch, store, embedder, POLICY, lambda a, o: seen.append(a.id))
    # reported once stored; the failed window never, the next not started
    assert seen == [a.id for a in first_window]
    assert store.count_articles() == WRITE_WINDOW and store.get("other-article") is None
    assert store.get("third") is None


def test_a_window_is_one_store_write_and_its_repeats_are_written_in_order(
    store: ArticleStore, embedder: Embedder, seed_article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma calls cost a fixed amount each: a window goes to the store in one write, one add per step."""
    calls: list[list[str]] = []
    adds: list[int] = []
    write_many, add = store.write_many, ChromaVectorStore.add

    def counting_write(items: Sequence[WriteItem]) -> None:
        calls.append([article.id for article, _, _ in items])
        write_many(items)

    def counting_add(self: ChromaVectorStore, nodes: list[Any], **kwargs: Any) -> list[str]:
        adds.append(len(nodes))
        return add(self, nodes, **kwargs)

    monkeypatch.setattr(store, "write_many", counting_write)
    monkeypatch.setattr(ChromaVectorStore, "add", counting_add)
    corrected = dataclasses.replace(seed_article, text=seed_article.text + CORRECTION)
    window = [seed_article, *_numbered(3), corrected]
    report = ingest_articles(window, store, embedder, POLICY)
    assert calls == [[a.id for a in window]]
    # one add for the first four, a second for the corrected seed (one call cannot hold an id twice)
    assert len(adds) == 2 and adds[1] == _expected_chunk_count(corrected, embedder)
    assert report.outcomes[seed_article.id] == Outcome.REPLACED
    stored = store.get(seed_article.id)
    assert stored is not None and stored.version == corrected.version
    assert sorted(_chunks_of(store, seed_article.id)["ids"]) == sorted(
        chunk_id(seed_article.id, corrected.version, i) for i in range(adds[1])
    )
    assert store.count_chunks() == sum(adds) - _expected_chunk_count(seed_article, embedder)


def _numbered(n: int) -> list[Article]:
    return [
        Article(id=f"story-{i}", title=f"Story {i}", text=f"Report number {i} on the harbour works. " * 5, lang="en")
        for i in range(n)
    ]


def test_a_bad_record_is_raised_after_the_articles_read_before_it_are_stored(
    store: ArticleStore, embedder: Embedder
) -> None:
    """Ingest reads one article ahead; a record that fails to load must not cost the one before it."""

    def feed() -> Iterator[Article]:
        yield from _numbered(3)
        raise ValueError("line 4: not an article")

    seen: list[str] = []
    with pytest.raises(ValueError, match="line 4"):
        ingest_articles(feed(), store, embedder, POLICY, lambda article, _: seen.append(article.id))
    assert seen == ["story-0", "story-1", "story-2"]
    assert store.count_articles() == 3


def test_lookups_never_wait_on_a_write_in_flight(
    store: ArticleStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chroma read waits for a concurrent write; the next window is looked up between writes."""
    writing: list[bool] = [False]
    overlaps: list[list[str]] = []
    looked_up: list[int] = []
    real_write, real_lookup = store.write_many, store.lookup

    def write_many(items: Sequence[WriteItem]) -> None:
        writing[0] = True
        try:
            real_write(items)
        finally:
            writing[0] = False

    def lookup(articles: Sequence[Article]) -> Lookup:
        looked_up.append(len(articles))
        if writing[0]:
            overlaps.append([a.id for a in articles])
        return real_lookup(articles)

    monkeypatch.setattr(store, "write_many", write_many)
    monkeypatch.setattr(store, "lookup", lookup)
    report = ingest_articles(_numbered(2 * WRITE_WINDOW + 2), store, embedder, POLICY)
    assert report.count(Outcome.CREATED) == 2 * WRITE_WINDOW + 2
    assert looked_up == [WRITE_WINDOW, WRITE_WINDOW, 2, 0]  # one read per window
    assert overlaps == []
