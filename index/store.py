"""The Chroma store: one collection of chunk vectors (through LlamaIndex's ChromaVectorStore) and
one of whole articles (full text + metadata, for citation lookup).

Write order makes every article either fully searchable or absent: new chunks are written under a
new version id first, the article record (the commit point) second, stale chunks deleted last.
Readers only trust chunks whose version matches the committed article record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from index.articles import Article
from index.chunking import Chunk

log = logging.getLogger(__name__)

_ARTICLE_FIELDS = ("title", "source", "url", "published_at", "section", "lang")


@dataclass(frozen=True)
class StoredArticle:
    article: Article
    version: str
    chunk_count: int
    ingested_at: str


def chunk_id(article_id: str, version: str, index: int) -> str:
    return f"{article_id}::{version}::{index:05d}"


def open_client(chroma_dir: Path) -> chromadb.api.ClientAPI:
    """An embedded Chroma client on disk, telemetry off (this machine has no network anyway)."""
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))


class ArticleStore:
    """Articles and their chunk vectors in Chroma; the only module that writes to the store."""

    def __init__(self, client: chromadb.api.ClientAPI, collection: str = "citewire") -> None:
        self._client = client
        # embedding_function=None: Chroma's default one would try to download an ONNX model.
        space = {"hnsw:space": "cosine"}
        self.chunks: Collection = client.get_or_create_collection(
            f"{collection}_chunks", embedding_function=None, metadata=space
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{collection}_articles", embedding_function=None, metadata=space
        )
        self.vector_store = ChromaVectorStore(chroma_collection=self.chunks)

    # -- reads -------------------------------------------------------------------------------

    def get(self, article_id: str) -> StoredArticle | None:
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        return _stored_from_record(article_id, got["documents"][0], got["metadatas"][0])  # type: ignore[index]

    def get_many(self, article_ids: Sequence[str]) -> dict[str, StoredArticle]:
        if not article_ids:
            return {}
        got = self.articles.get(ids=list(dict.fromkeys(article_ids)), include=["documents", "metadatas"])
        return {
            aid: _stored_from_record(aid, doc, meta)
            for aid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        }

    def list(self) -> list[StoredArticle]:
        """Every article, metadata only (text left empty), sorted newest first then by title."""
        got = self.articles.get(include=["metadatas"])
        items = [
            _stored_from_record(aid, "", meta) for aid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
        return sorted(items, key=lambda s: (s.article.published_at or "", s.article.title), reverse=True)

    def version_of(self, article_id: str) -> str | None:
        got = self.articles.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        return str(got["metadatas"][0]["version"])  # type: ignore[index]

    def count_articles(self) -> int:
        return self.articles.count()

    def count_chunks(self) -> int:
        return self.chunks.count()

    # -- writes ------------------------------------------------------------------------------

    def write(self, article: Article, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        """Store a new or changed article: chunks first, then the article record, then clean up."""
        if len(chunks) != len(embeddings):
            raise ValueError("one embedding per chunk is required")
        if not chunks:
            raise ValueError(f"article {article.id} has no chunks")
        version = article.version
        # Leftovers of an interrupted write of this same version would clash with the new ids.
        self.chunks.delete(where={"$and": [{"article_id": article.id}, {"version": version}]})
        self.vector_store.add([_node(article, version, c, e) for c, e in zip(chunks, embeddings, strict=True)])
        centroid = np.mean(np.asarray(embeddings, dtype=np.float32), axis=0)
        centroid /= float(np.linalg.norm(centroid)) or 1.0
        self.articles.upsert(
            ids=[article.id],
            documents=[article.text],
            embeddings=[centroid.tolist()],
            metadatas=[_article_metadata(article, version, len(chunks))],
        )
        stale = cast(Where, {"$and": [{"article_id": article.id}, {"version": {"$ne": version}}]})
        self.chunks.delete(where=stale)

    def delete(self, article_id: str) -> bool:
        """Remove an article and all its chunks; False when it was not there."""
        existed = bool(self.articles.get(ids=[article_id])["ids"])
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})
        return existed


def _node(article: Article, version: str, chunk: Chunk, embedding: Sequence[float]) -> TextNode:
    metadata: dict[str, Any] = {
        "article_id": article.id,
        "version": version,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
    }
    metadata.update({k: getattr(article, k) for k in ("source", "published_at", "lang") if getattr(article, k)})
    node = TextNode(
        id_=chunk_id(article.id, version, chunk.index),
        text=chunk.text,
        embedding=list(embedding),
        metadata=metadata,
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=article.id)
    return node


def _article_metadata(article: Article, version: str, chunk_count: int) -> dict[str, str | int]:
    meta: dict[str, str | int] = {k: getattr(article, k) for k in _ARTICLE_FIELDS if getattr(article, k) is not None}
    meta.update(version=version, chunk_count=chunk_count, ingested_at=datetime.now(UTC).isoformat())
    return meta


def _stored_from_record(article_id: str, text: str | None, meta: Any) -> StoredArticle:
    meta = dict(meta or {})
    article = Article(
        id=article_id,
        text=text or "",
        **{k: (str(meta[k]) if k in meta else None) for k in _ARTICLE_FIELDS if k != "title"},
        title=str(meta.get("title", "")),
    )
    return StoredArticle(
        article=article,
        version=str(meta.get("version", "")),
        chunk_count=int(meta.get("chunk_count", 0)),
        ingested_at=str(meta.get("ingested_at", "")),
    )
