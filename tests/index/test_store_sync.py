"""Tests for how an ArticleStore's BM25 copy catches up with writes made through another one (another
worker or machine): the store marker, the write generation and the shared-store open, on a real
embedded Chroma with the real MiniLM. Two ``ArticleStore`` objects over one client stand for two
processes: each has its own BM25 copy, as each worker has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import chromadb
import pytest

import index.store as store_module
from index.articles import Article, chunk_search_text
from index.chroma import open_client, open_http_client
from index.chunking import chunk_text
from index.embedding import Embedder
from index.ingest import ChunkingPolicy, ingest_articles
from index.records import chunk_node
from index.sparse import SparseIndex
from index.store import ArticleStore, EmbedderMismatchError, StoreMarker

POLICY = ChunkingPolicy(128, 32)


def _article(article_id: str, text: str) -> Article:
    return Article(id=article_id, title="Zoo news", text=text, source="Example News", lang="en")


ZEBRA = _article("zebra", "The zoo in Hamburg welcomed a zebra foal named Quagga on Monday.")
OKAPI = _article("zebra", "The zoo in Hamburg welcomed an okapi calf named Kibo on Monday.")  # same id, one chunk
BANK = _article("bank", "The central bank kept its key rate at 4.5 percent on Tuesday.")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[chromadb.api.ClientAPI]:
    client = open_client(tmp_path / "chroma")
    yield client
    client.close()


def _store(client: chromadb.api.ClientAPI, folder: Path | None, **kwargs: object) -> ArticleStore:
    """Two of these on one client stand for two processes sharing a Chroma server."""
    kwargs.setdefault("shared", True)
    return ArticleStore(client, "test", folder, "minilm", **kwargs)  # type: ignore[arg-type]


def _articles(index: SparseIndex, query: str) -> list[str]:
    return [cid.split("::")[0] for cid, _ in index.search(query, 10).top]


def test_writes_and_deletes_through_one_store_reach_the_other_ones_bm25_copy(
    client: chromadb.api.ClientAPI, tmp_path: Path, embedder: Embedder
) -> None:
    writer = _store(client, tmp_path / "one" / "bm25")
    reader = _store(client, tmp_path / "two" / "bm25")
    ingest_articles([ZEBRA, BANK], writer, embedder, POLICY)
    assert _articles(reader.sparse, "Quagga") == []  # its own copy knows nothing yet
    assert _articles(reader.fresh_sparse(), "Quagga") == ["zebra"]
    assert reader.sparse.chunk_ids() == set(writer.chunks.get(include=[])["ids"])

    ingest_articles([OKAPI], writer, embedder, POLICY)  # a replacement with as many chunks: same count
    assert _articles(reader.fresh_sparse(), "Quagga") == []
    assert _articles(reader.fresh_sparse(), "okapi Kibo") == ["zebra"]

    assert writer.delete("zebra")
    assert _articles(reader.fresh_sparse(), "okapi Kibo") == []
    assert _articles(reader.fresh_sparse(), "central bank rate") == ["bank"]


def test_the_marker_changes_with_every_write_even_when_the_count_does_not(
    client: chromadb.api.ClientAPI, embedder: Embedder
) -> None:
    store = _store(client, None)
    empty = store.marker()
    assert empty == StoreMarker(0, "")
    ingest_articles([ZEBRA], store, embedder, POLICY)
    first = store.marker()
    ingest_articles([OKAPI], store, embedder, POLICY)
    second = store.marker()
    assert first.chunks == second.chunks == 1
    assert len({empty.generation, first.generation, second.generation}) == 3
    ingest_articles([OKAPI], store, embedder, POLICY)  # unchanged: nothing written, no new generation
    assert store.marker() == second


def test_no_catching_up_while_the_marker_stays_the_same(
    client: chromadb.api.ClientAPI, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _store(client, None)
    reader = _store(client, None)
    ingest_articles([ZEBRA], writer, embedder, POLICY)
    reader.fresh_sparse()

    def no_catch_up(self: ArticleStore) -> None:
        raise AssertionError("nothing changed: the copy should be used as it is")

    monkeypatch.setattr(ArticleStore, "_catch_up", no_catch_up)
    assert _articles(reader.fresh_sparse(), "Quagga") == ["zebra"]


def test_sparse_check_s_spaces_the_checks_out(
    client: chromadb.api.ClientAPI, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(store_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    writer = _store(client, None)
    reader = _store(client, None, sparse_check_s=5.0)
    assert _articles(reader.fresh_sparse(), "Quagga") == []  # the first call checks
    ingest_articles([ZEBRA], writer, embedder, POLICY)
    clock[0] += 4.0
    assert _articles(reader.fresh_sparse(), "Quagga") == []  # checked 4 s ago: not yet
    clock[0] += 1.5
    assert _articles(reader.fresh_sparse(), "Quagga") == ["zebra"]


def test_the_write_generation_keeps_the_embedder_record_and_the_cosine_space(
    client: chromadb.api.ClientAPI, embedder: Embedder
) -> None:
    store = _store(client, None)
    ingest_articles([ZEBRA, BANK], store, embedder, POLICY)
    assert store.delete("bank")
    fresh = client.get_collection("test_chunks", embedding_function=None)
    assert fresh.metadata["citewire_embedder"] == "minilm"
    assert fresh.configuration["hnsw"]["space"] == "cosine"  # type: ignore[index]
    with pytest.raises(EmbedderMismatchError):
        ArticleStore(client, "test", None, "e5-multilingual")


def _uncommitted_write(store: ArticleStore, article: Article, embedder: Embedder) -> None:
    """Chunks of a write whose article record never came: a crash, or another process mid-write."""
    chunks = chunk_text(article.text, embedder.counter, POLICY.max_tokens, POLICY.overlap_tokens)
    vectors = embedder.model.get_text_embedding_batch([chunk_search_text(article.title, c.text) for c in chunks])
    nodes = [chunk_node(article, article.version, c, v) for c, v in zip(chunks, vectors, strict=True)]
    store.vector_store.add(nodes)


def test_a_shared_store_leaves_unfinished_writes_alone_on_open(
    client: chromadb.api.ClientAPI, tmp_path: Path, embedder: Embedder
) -> None:
    """Another worker's write in progress looks like a crashed one; only a store of its own sweeps."""
    writer = _store(client, None)
    _uncommitted_write(writer, ZEBRA, embedder)
    _store(client, tmp_path / "shared" / "bm25", shared=True)
    assert writer.chunks.get(where={"article_id": "zebra"})["ids"]
    _store(client, tmp_path / "own" / "bm25", shared=False)
    assert writer.chunks.get(where={"article_id": "zebra"})["ids"] == []


def test_an_embedded_store_neither_marks_writes_nor_checks_for_others(
    client: chromadb.api.ClientAPI, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process owns an embedded store: the marker's Chroma calls would be pure overhead."""
    store = _store(client, None, shared=False)
    ingest_articles([ZEBRA, BANK], store, embedder, POLICY)
    assert store.delete("bank")
    assert store.marker().generation == ""  # no write generation was ever stored

    def no_marker(self: ArticleStore) -> StoreMarker:
        raise AssertionError("an embedded store has no other writer to look for")

    monkeypatch.setattr(ArticleStore, "marker", no_marker)
    assert _articles(store.fresh_sparse(), "Quagga") == ["zebra"]


def test_an_unreachable_or_malformed_server_address_is_a_setup_error() -> None:
    from index.errors import SetupError

    with pytest.raises(SetupError, match="no Chroma server answers"):
        open_http_client("http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(SetupError, match="http://host:port"):
        open_http_client("127.0.0.1:8001")
