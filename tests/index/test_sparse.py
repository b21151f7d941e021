"""Tests for index.sparse (the BM25 index) and how ArticleStore keeps it in step with Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Article
from index.chroma import open_client
from index.embedding import Embedder
from index.ingest import ChunkingPolicy, ingest_articles
from index.sparse import SparseDoc, SparseIndex, tokenize
from index.store import ArticleStore

POLICY = ChunkingPolicy(128, 32)


def _docs(*texts: str, article: str | None = None) -> list[SparseDoc]:
    return [
        SparseDoc(f"{article or f'a{i}'}::v::{i:05d}", article or f"a{i}", tuple(t))
        for i, t in enumerate(tokenize(list(texts)))
    ]


TEXTS = (
    "The Financial Times reviewed the White House memo.",
    "Rain fell over Paris on Tuesday afternoon.",
    "A memo was sent to staff.",
)


def _ids(index: SparseIndex, query: str, k: int = 10) -> list[str]:
    return [cid for cid, _ in index.search(query, k).top]


def test_bm25_ranks_the_chunk_with_more_of_the_querys_words_first() -> None:
    index = SparseIndex(docs=_docs(*TEXTS))
    scores = index.search("Which newspaper reviewed the memo?", 10)
    assert [cid for cid, _ in scores.top] == ["a0::v::00000", "a2::v::00002"]  # the rain chunk scores zero
    assert scores.of("a1::v::00001") == 0.0
    assert scores.of("a0::v::00000") > scores.of("a2::v::00002") > 0


def test_words_are_stemmed_and_case_is_ignored() -> None:
    index = SparseIndex(docs=_docs(*TEXTS))
    assert _ids(index, "REVIEWING memos")[0] == "a0::v::00000"


@pytest.mark.parametrize("query", ["", "   ", "the and of", "zebra quantum"])
def test_query_without_indexed_words_finds_nothing(query: str) -> None:
    scores = SparseIndex(docs=_docs(*TEXTS)).search(query, 5)
    assert scores.top == []
    assert scores.of("a0::v::00000") == 0.0


def test_empty_index_finds_nothing() -> None:
    assert SparseIndex().search("memo", 5).top == []


def test_k_limits_the_results() -> None:
    assert len(SparseIndex(docs=_docs(*TEXTS)).search("memo", 1).top) == 1


def test_replace_article_swaps_its_chunks_and_remove_drops_them() -> None:
    index = SparseIndex(docs=_docs(*TEXTS))
    index.replace_article("a1", _docs("Snow fell over Oslo.", article="a1"))
    assert _ids(index, "rain Paris") == []
    assert _ids(index, "snow Oslo") == ["a1::v::00000"]
    index.remove_article("a1")
    assert _ids(index, "snow Oslo") == []
    assert len(index) == 2


def test_flush_and_load_round_trip(tmp_path: Path) -> None:
    index = SparseIndex(tmp_path / "bm25", _docs(*TEXTS))
    index.flush()
    loaded = SparseIndex.load(tmp_path / "bm25")
    assert loaded is not None
    assert loaded.chunk_ids() == index.chunk_ids()
    assert loaded.search("reviewed memo", 3).top == index.search("reviewed memo", 3).top


def test_flush_keeps_one_generation_on_disk(tmp_path: Path) -> None:
    index = SparseIndex(tmp_path / "bm25", _docs(*TEXTS))
    index.flush()
    index.remove_article("a0")
    index.flush()
    assert len(list((tmp_path / "bm25").glob("gen-*"))) == 1
    loaded = SparseIndex.load(tmp_path / "bm25")
    assert loaded is not None and "a0::v::00000" not in loaded.chunk_ids()


def test_missing_or_damaged_folder_loads_as_none(tmp_path: Path) -> None:
    assert SparseIndex.load(tmp_path / "nothing") is None
    index = SparseIndex(tmp_path / "bm25", _docs(*TEXTS))
    index.flush()
    generation = (tmp_path / "bm25" / "CURRENT").read_text()
    (tmp_path / "bm25" / generation / "docs.jsonl").write_text("not json\n")
    assert SparseIndex.load(tmp_path / "bm25") is None


# -- kept in step with Chroma (real store, real MiniLM) ------------------------------------------


def _article(article_id: str, title: str, text: str) -> Article:
    return Article(id=article_id, title=title, text=text, source="Example News", lang="en")


ZEBRA = _article("zebra", "Zoo news", "The zoo in Hamburg welcomed a zebra foal named Quagga on Monday.")
BANK = _article("bank", "Central bank holds rate", "The central bank kept its key rate at 4.5 percent on Tuesday.")


def _open(tmp_path: Path) -> ArticleStore:
    return ArticleStore(open_client(tmp_path / "chroma"), "test", tmp_path / "bm25")


def test_ingest_indexes_chunks_in_bm25_and_a_restart_loads_the_saved_copy(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _open(tmp_path)
    ingest_articles([ZEBRA, BANK], store, embedder, POLICY)
    assert store.sparse.chunk_ids() == set(store.chunks.get(include=[])["ids"])
    assert (tmp_path / "bm25" / "CURRENT").exists()

    def no_rescan(self: ArticleStore) -> list[SparseDoc]:
        raise AssertionError("the saved BM25 index should have been loaded, not rebuilt")

    monkeypatch.setattr(ArticleStore, "_scan_sparse_docs", no_rescan)
    reopened = _open(tmp_path)
    assert [cid.split("::")[0] for cid in _ids(reopened.sparse, "Quagga")] == ["zebra"]


def test_delete_removes_the_article_from_both_indexes(tmp_path: Path, embedder: Embedder) -> None:
    store = _open(tmp_path)
    ingest_articles([ZEBRA, BANK], store, embedder, POLICY)
    assert store.delete("zebra")
    store.flush()
    assert _ids(store.sparse, "zebra Quagga") == []
    assert store.chunks.get(where={"article_id": "zebra"})["ids"] == []
    assert _ids(_open(tmp_path).sparse, "zebra Quagga") == []


def test_replacing_an_article_replaces_its_bm25_chunks(tmp_path: Path, embedder: Embedder) -> None:
    store = _open(tmp_path)
    ingest_articles([ZEBRA], store, embedder, POLICY)
    corrected = _article("zebra", "Zoo news", "The zoo in Hamburg welcomed an okapi calf named Kibo on Monday.")
    ingest_articles([corrected], store, embedder, POLICY)
    assert _ids(store.sparse, "Quagga") == []
    assert [cid.split("::")[1] for cid in _ids(store.sparse, "okapi Kibo")] == [corrected.version]


def test_unsaved_changes_are_rebuilt_from_chroma_after_a_crash(tmp_path: Path, embedder: Embedder) -> None:
    store = _open(tmp_path)
    ingest_articles([BANK], store, embedder, POLICY)
    chunks = [c for c in store.chunks.get(include=[])["ids"]]
    # A write that reached Chroma but whose BM25 copy was never saved (the process died before flush).
    store.write(ZEBRA, *_chunked(ZEBRA, embedder))
    reopened = _open(tmp_path)
    assert reopened.sparse.chunk_ids() == set(reopened.chunks.get(include=[])["ids"])
    assert len(reopened.sparse) > len(chunks)
    assert _ids(reopened.sparse, "Quagga")


def test_a_store_without_a_saved_index_builds_one(tmp_path: Path, embedder: Embedder) -> None:
    store = ArticleStore(open_client(tmp_path / "chroma"), "test")  # memory only, as before BM25 existed
    ingest_articles([ZEBRA], store, embedder, POLICY)
    assert not (tmp_path / "bm25").exists()
    reopened = _open(tmp_path)
    assert _ids(reopened.sparse, "Quagga")
    assert (tmp_path / "bm25" / "CURRENT").exists()


def _chunked(article: Article, embedder: Embedder) -> tuple[list, list]:  # type: ignore[type-arg]
    from index.articles import chunk_search_text
    from index.chunking import chunk_text

    chunks = chunk_text(article.text, embedder.counter, POLICY.max_tokens, POLICY.overlap_tokens)
    return chunks, embedder.model.get_text_embedding_batch([chunk_search_text(article.title, c.text) for c in chunks])


def test_apply_adds_and_drops_single_chunks() -> None:
    index = SparseIndex(docs=_docs(*TEXTS))
    index.apply(_docs("A zebra foal named Quagga.", article="zebra"), {"a0::v::00000"})
    assert _ids(index, "Quagga") == ["zebra::v::00000"]
    assert _ids(index, "reviewed memo") == ["a2::v::00002"]
    index.replace_article("a2", [])  # what is left of an article is still dropped whole
    assert _ids(index, "memo") == []


def test_flush_leaves_another_processs_recent_copy_alone(tmp_path: Path) -> None:
    """Workers share the data dir: a copy another one may still be writing is not removed under it."""
    import os

    folder = tmp_path / "bm25"
    other = folder / "gen-1-0123456789ab"
    other.mkdir(parents=True)
    index = SparseIndex(folder, _docs(*TEXTS))
    index.flush()
    assert other.exists()
    os.utime(other, (0, 0))  # untouched for ages: abandoned
    index.remove_article("a0")
    index.flush()
    assert not other.exists()
    assert len(list(folder.glob("gen-*"))) == 1
