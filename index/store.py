"""The Chroma store: chunk vectors (through LlamaIndex's ChromaVectorStore) and whole articles, with a BM25 copy beside.

Writes leave each article fully searchable or absent: new-version chunks, then the article record (the commit point),
then stale chunks go; readers trust only chunks of the committed version. On a shared server every write ends with a
random *write generation* (a counter could repeat across writers); other processes catch their BM25 copies up on it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from llama_index.core.schema import BaseNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.articles import Article, chunk_search_text
from index.chunking import Chunk
from index.errors import SetupError
from index.filters import UNDATED_DAY
from index.records import (
    Lookup,
    StoredArticle,
    WriteItem,
    any_of,
    article_metadata,
    backfill_published_day,
    centroid,
    chunk_id,
    chunk_node,
    ids_and_metas,
    orphaned_chunks,
    runs_without_repeats,
    scan_sparse_docs,
    sparse_doc,
    sparse_docs,
    stored_from_record,
    text_fingerprint,
    uncommitted,
)
from index.sparse import SparseDoc, SparseIndex, tokenize

log = logging.getLogger(__name__)

_SCAN_BATCH = 5000  # chunks read from Chroma per call when rebuilding the BM25 index


_EMBEDDER_KEY = "citewire_embedder"
_GENERATION_KEY = "citewire_generation"
_DAYS_KEY = "citewire_undated_day"  # set once every chunk carries published_day (UNDATED_DAY when undated)


@dataclass(frozen=True)
class StoreMarker:
    """Cheap to read, and different after any write by any process: when a BM25 copy must catch up."""

    chunks: int
    generation: str


class EmbedderMismatchError(SetupError):
    """The store was built with another embedding model than the one configured."""


def _check_embedder(chunks: Collection, embedder: str | None) -> None:
    built_with = (chunks.metadata or {}).get(_EMBEDDER_KEY)
    if embedder and built_with and built_with != embedder:
        raise EmbedderMismatchError(
            f"the collection {chunks.name!r} was built with the embedding model {built_with!r}, not "
            f"{embedder!r}: set CITEWIRE_EMBED_MODEL={built_with}, or index into another "
            "CITEWIRE_COLLECTION or CITEWIRE_DATA_DIR"
        )


class ArticleStore:
    """Articles and their chunk vectors in Chroma; the only module that writes to the store."""

    def __init__(
        self,
        client: chromadb.api.ClientAPI,
        collection: str = "citewire",
        sparse_dir: Path | None = None,
        embedder: str | None = None,
        shared: bool = False,
        sparse_check_s: float = 0.0,
    ) -> None:
        """``sparse_dir`` holds the saved BM25 index; without it the index lives in memory only.

        ``embedder`` names the model whose vectors the store holds: recorded when the store is
        created, and a store built by another model is refused (its vectors live in another space,
        so every search would quietly return noise).

        ``shared``: other processes may write to this Chroma (a server), so no open-time sweep.
        ``sparse_check_s``: ``fresh_sparse`` looks for other processes' writes at most this often."""
        self._client = client
        self._shared = shared
        self._check_s = sparse_check_s
        self._sync_lock = threading.Lock()
        self._max_batch = client.get_max_batch_size()
        self._checked_at = float("-inf")
        # embedding_function=None: Chroma's default one would try to download an ONNX model.
        space = {"hnsw:space": "cosine"}
        created: dict[str, Any] = {**space, _DAYS_KEY: UNDATED_DAY}  # a new collection needs no backfill
        self.chunks: Collection = client.get_or_create_collection(
            f"{collection}_chunks",
            embedding_function=None,
            metadata={**created, _EMBEDDER_KEY: embedder} if embedder else created,
        )
        _check_embedder(self.chunks, embedder)
        if _DAYS_KEY not in (self.chunks.metadata or {}):
            backfill_published_day(self.chunks, _SCAN_BATCH)
            self._set_chunk_metadata(_DAYS_KEY, UNDATED_DAY)
        self.articles: Collection = client.get_or_create_collection(
            f"{collection}_articles", embedding_function=None, metadata=space
        )
        self.vector_store = ChromaVectorStore(chroma_collection=self.chunks)
        self._synced = self.marker()  # read before the copy is checked: a write after it shows as a change
        self.sparse = self._open_sparse(sparse_dir)

    def _open_sparse(self, directory: Path | None) -> SparseIndex:
        saved = SparseIndex.load(directory) if directory is not None else None
        held = set(self.chunks.get(include=[])["ids"])
        if saved is not None and saved.chunk_ids() == held:
            return saved
        # The saved index is missing or out of step: the last run stopped mid-batch. Chunks of a write
        # that never committed its article record are dropped first (the engine already ignores them).
        swept = 0 if self._shared else self.sweep_uncommitted()
        if swept:
            log.warning("removed %d chunks of articles whose write did not finish", swept)
            held = set(self.chunks.get(include=[])["ids"])
        if saved is not None or held:
            log.info("rebuilding the BM25 index from %d stored chunks", len(held))
        rebuilt = SparseIndex(directory, self._scan_sparse_docs())
        rebuilt.flush()
        return rebuilt

    def _scan_sparse_docs(self) -> list[SparseDoc]:
        return scan_sparse_docs(self.chunks, _SCAN_BATCH)

    # -- other processes' writes -------------------------------------------------------------

    def marker(self) -> StoreMarker:
        """The chunk count and write generation as Chroma holds them now (two small reads)."""
        generation = self._chunk_metadata().get(_GENERATION_KEY, "")
        return StoreMarker(self.chunks.count(), str(generation))

    def fresh_sparse(self) -> SparseIndex:
        """The BM25 index, first caught up with writes another process made since it last was.

        Checked at most every ``sparse_check_s``; catching up fetches every chunk id but the texts
        of new chunks only. An embedded store has no other writer, so it is never checked."""
        if not self._shared:
            return self.sparse
        with self._sync_lock:
            if time.monotonic() - self._checked_at < self._check_s:
                return self.sparse
            marker = self.marker()  # before the ids: a write after this read shows at the next check
            self._checked_at = time.monotonic()
            if marker != self._synced:
                self._catch_up()
                self._synced = marker
        return self.sparse

    def _catch_up(self) -> None:
        held = set(self.chunks.get(include=[])["ids"])
        mine = self.sparse.chunk_ids()
        new, gone = sorted(held - mine), mine - held
        docs: list[SparseDoc] = []
        for start in range(0, len(new), _SCAN_BATCH):
            docs.extend(
                sparse_docs(self.chunks.get(ids=new[start : start + _SCAN_BATCH], include=["documents", "metadatas"]))
            )
        if docs or gone:
            log.info("BM25 index caught up with the store: %d chunks added, %d removed", len(docs), len(gone))
            self.sparse.apply(docs, gone)

    def _chunk_metadata(self) -> dict[str, Any]:
        """Read afresh: a ``Collection`` keeps the metadata it was fetched with."""
        return dict(self._client.get_collection(self.chunks.name, embedding_function=None).metadata or {})

    def _set_chunk_metadata(self, key: str, value: str | int) -> None:
        current = self._chunk_metadata()
        # Chroma refuses any metadata naming the distance, even unchanged (it lives in the configuration).
        kept = {k: v for k, v in current.items() if not k.startswith("hnsw:")}
        self.chunks.modify(metadata={**kept, key: value})

    @property
    def shared(self) -> bool:
        """Other processes may write to this Chroma (a server)."""
        return self._shared

    def _bump_generation(self) -> None:
        """Tell other processes the store changed: the last step of every write and delete.

        Only a shared store has other processes to tell: embedded, it would cost two Chroma calls a write."""
        if not self._shared:
            return
        self._set_chunk_metadata(_GENERATION_KEY, uuid.uuid4().hex)

    def sweep_uncommitted(self) -> int:
        """Delete Chroma chunks whose article record is absent or names another version; how many went."""
        stale = uncommitted(self.chunks.get(include=[])["ids"], self.articles.get(include=["metadatas"]))
        self._delete_chunks(stale)
        return len(stale)

    def sweep_orphans(self, grace_s: float = 0.0) -> int:
        """``sweep_uncommitted`` for BM25 too, cheap enough for every start: a crash mid-delete leaves chunks that
        a saved BM25 copy in step with Chroma holds too, which the open trusts. ``grace_s`` (a shared store): only
        what is still orphaned this much later goes, as another process's write adds its chunks first."""
        orphans = orphaned_chunks(self.chunks, self.articles, self.sparse.chunk_ids())
        if orphans and grace_s > 0:
            time.sleep(grace_s)
            orphans &= orphaned_chunks(self.chunks, self.articles, self.sparse.chunk_ids())
        if orphans:
            self._delete_chunks(orphans)
            self.sparse.apply([], orphans)
            self.sparse.flush()
            self._bump_generation()
        return len(orphans)

    def _delete_chunks(self, chunk_ids: set[str]) -> None:
        ordered = sorted(chunk_ids)
        for start in range(0, len(ordered), _SCAN_BATCH):
            self.chunks.delete(ids=ordered[start : start + _SCAN_BATCH])

    # -- reads -------------------------------------------------------------------------------

    def lookup(self, articles: Sequence[Article]) -> Lookup:
        """What the store holds of these articles, in two reads: their stored versions, and the
        articles stored with the same text (the same story under another name)."""
        if not articles:
            return Lookup({}, {})
        ids = list(dict.fromkeys(a.id for a in articles))
        got = self.articles.get(ids=ids, include=["metadatas"])
        versions = {aid: str(meta.get("version")) for aid, meta in zip(*ids_and_metas(got), strict=True)}
        prints = list(dict.fromkeys(text_fingerprint(a.text) for a in articles))
        same = self.articles.get(where=cast(Where, {"text_hash": {"$in": prints}}), include=["metadatas"])
        by_text: dict[str, list[tuple[str, str]]] = {}
        for aid, meta in zip(*ids_and_metas(same), strict=True):
            by_text.setdefault(str(meta.get("text_hash")), []).append((aid, str(meta.get("title") or "")))
        return Lookup(versions, by_text)

    def get(self, article_id: str) -> StoredArticle | None:
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return stored_from_record(article_id, got["documents"][0], got["metadatas"][0])  # type: ignore[index]

    def get_many(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        if not article_ids:
            return {}
        got = self.articles.get(ids=list(dict.fromkeys(article_ids)), include=["documents", "metadatas"])
        return {
            aid: stored_from_record(aid, doc, meta)
            for aid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        }

    def list(self) -> list[StoredArticle]:
        """Every article, metadata only (text left empty), sorted newest first then by title."""
        got = self.articles.get(include=["metadatas"])
        items = [
            stored_from_record(aid, "", meta) for aid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
        return sorted(items, key=lambda s: (s.article.published_at or "", s.article.title), reverse=True)

    def version_of(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return str(got["metadatas"][0]["version"])  # type: ignore[index]

    def get_chunks(self, chunk_ids: Sequence[str]) -> Sequence[tuple[BaseNode, np.ndarray]]:
        """Chunks by id with their stored vectors, in the order asked (unknown ids are skipped)."""
        if not chunk_ids:
            return []
        got = self.chunks.get(ids=list(chunk_ids), include=["documents", "metadatas", "embeddings"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        found = {
            cid: (metadata_dict_to_node(dict(meta or {}), text=doc), np.asarray(vec, dtype=np.float32))
            for cid, doc, meta, vec in zip(
                got["ids"], got["documents"] or [], got["metadatas"] or [], vectors, strict=True
            )
        }
        return [found[cid] for cid in chunk_ids if cid in found]

    def count_articles(self) -> int:
        return self.articles.count()

    def count_chunks(self) -> int:
        return self.chunks.count()

    # -- writes ------------------------------------------------------------------------------

    def write(self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        """Store one new or changed article (``write_many`` of one)."""
        self.write_many([(article, chunks, embeddings)])

    def write_many(self, items: Sequence[WriteItem]) -> None:
        """Store new or changed articles: all their chunks first, then their article records, then clean up.

        One Chroma call per step for the whole group: a call's fixed cost is about as large as the
        work of ~20 chunks, and ingest's writes compete with the embedder for the same cores. An id
        given twice is written twice, in order (one Chroma call cannot hold the same id twice)."""
        for item in items:
            article, chunks, embeddings = item
            if len(chunks) != len(embeddings):
                raise ValueError("one embedding per chunk is required")
            if not chunks:
                raise ValueError(f"article {article.id} has no chunks")
        for run in runs_without_repeats(items):
            self._write_run(run)

    def _write_run(self, items: Sequence[WriteItem]) -> None:
        versions = [(article.id, article.version) for article, _, _ in items]
        # Leftovers of an interrupted write of these same versions would clash with the new ids.
        self.chunks.delete(where=any_of([{"$and": [{"article_id": a}, {"version": v}]} for a, v in versions]))
        nodes: list[BaseNode] = [
            chunk_node(article, article.version, c, e)
            for article, chunks, embeddings in items
            for c, e in zip(chunks, embeddings, strict=True)
        ]
        for start in range(0, len(nodes), self._max_batch):  # Chroma refuses larger calls
            self.vector_store.add(nodes[start : start + self._max_batch])
        self.articles.upsert(
            ids=[article.id for article, _, _ in items],
            documents=[article.text for article, _, _ in items],
            embeddings=[centroid(embeddings) for _, _, embeddings in items],
            metadatas=[article_metadata(article, article.version, len(chunks)) for article, chunks, _ in items],
        )
        self.chunks.delete(where=any_of([{"$and": [{"article_id": a}, {"version": {"$ne": v}}]} for a, v in versions]))
        for article, chunks, _ in items:
            tokens = tokenize([chunk_search_text(article.title, c.text) for c in chunks])
            meta = {"article_id": article.id, "source": article.source, "published_at": article.published_at}
            self.sparse.replace_article(
                article.id,
                [
                    sparse_doc(chunk_id(article.id, article.version, c.index), meta, t)
                    for c, t in zip(chunks, tokens, strict=True)
                ],
            )
        self._bump_generation()

    def delete(self, article_id: str) -> bool:
        """Remove an article and all its chunks; False when it was not there."""
        existed = bool(self.articles.get(ids=[article_id])["ids"])
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})
        self.sparse.remove_article(article_id)
        self._bump_generation()
        return existed

    def flush(self) -> None:
        """Save the BM25 index; until then a restart rebuilds it from Chroma, so nothing is lost."""
        self.sparse.flush()
