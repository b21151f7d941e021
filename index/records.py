"""How articles and chunks are laid out in Chroma: ids, metadata, LlamaIndex nodes, and records read back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from chromadb.api.types import Where
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from index.articles import Article, chunk_search_text
from index.chunking import Chunk
from index.filters import stored_day
from index.sparse import SparseDoc, tokenize

ARTICLE_FIELDS = ("title", "source", "url", "published_at", "section", "author", "lang")


@dataclass(frozen=True)
class Lookup:
    """What the store held of some articles when asked (``ArticleStore.lookup``)."""

    versions: dict[str, str]  # article id -> stored version
    by_text: dict[str, list[tuple[str, str]]]  # text fingerprint -> (id, title) of stored articles with that text


WriteItem = tuple[Article, Sequence[Chunk], Sequence[Sequence[float]]]  # an article, its chunks, their vectors


@dataclass(frozen=True)
class StoredArticle:
    article: Article
    version: str
    chunk_count: int
    ingested_at: str


def text_fingerprint(text: str) -> str:
    """The same words in the same order, whatever the spacing or letter case: the same article text."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()[:24]


def chunk_id(article_id: str, version: str, index: int) -> str:
    return f"{article_id}::{version}::{index:05d}"


def sparse_docs(got: Any) -> list[SparseDoc]:
    """BM25 documents of a Chroma ``get`` with documents and metadatas."""
    metas = [dict(m or {}) for m in got["metadatas"] or []]
    texts = [
        chunk_search_text(str(m.get("title", "")), d or "") for m, d in zip(metas, got["documents"] or [], strict=True)
    ]
    return [sparse_doc(cid, m, t) for cid, m, t in zip(got["ids"], metas, tokenize(texts), strict=True)]


def sparse_doc(chunk_id_: str, meta: dict[str, Any], tokens: Sequence[str]) -> SparseDoc:
    def field(name: str) -> str | None:
        return str(meta[name]) if meta.get(name) else None

    return SparseDoc(chunk_id_, str(meta["article_id"]), tuple(tokens), field("source"), field("published_at"))


def chunk_node(article: Article, version: str, chunk: Chunk, embedding: Sequence[float]) -> TextNode:
    metadata: dict[str, Any] = {
        "article_id": article.id,
        "version": version,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
    }
    metadata.update({k: getattr(article, k) for k in ("source", "published_at", "lang") if getattr(article, k)})
    metadata["published_day"] = stored_day(article.published_at)  # Chroma compares numbers only: date filters
    node = TextNode(
        id_=chunk_id(article.id, version, chunk.index),
        text=chunk.text,
        embedding=list(embedding),
        metadata=metadata,
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=article.id)
    return node


def article_metadata(article: Article, version: str, chunk_count: int) -> dict[str, str | int]:
    meta: dict[str, str | int] = {k: getattr(article, k) for k in ARTICLE_FIELDS if getattr(article, k) is not None}
    meta.update(
        version=version,
        chunk_count=chunk_count,
        ingested_at=datetime.now(UTC).isoformat(),
        text_hash=text_fingerprint(article.text),
    )
    return meta


def stored_from_record(article_id: str, text: str | None, meta: Any) -> StoredArticle:
    meta = dict(meta or {})
    article = Article(
        id=article_id,
        text=text or "",
        **{k: (str(meta[k]) if k in meta else None) for k in ARTICLE_FIELDS if k != "title"},
        title=str(meta.get("title", "")),
    )
    return StoredArticle(
        article=article,
        version=str(meta.get("version", "")),
        chunk_count=int(meta.get("chunk_count", 0)),
        ingested_at=str(meta.get("ingested_at", "")),
    )


def ids_and_metas(got: Any) -> tuple[list[str], list[dict[str, Any]]]:
    return list(got["ids"]), [dict(m or {}) for m in got["metadatas"] or []]


def runs_without_repeats(items: Sequence[WriteItem]) -> list[list[WriteItem]]:
    """Split ``items`` in order into runs in which no article id appears twice."""
    runs: list[list[WriteItem]] = [[]]
    for item in items:
        if any(item[0].id == held[0].id for held in runs[-1]):
            runs.append([])
        runs[-1].append(item)
    return [run for run in runs if run]


def any_of(conditions: list[dict[str, Any]]) -> Where:
    """A Chroma ``where`` true when any condition is (``$or`` wants at least two)."""
    return cast(Where, conditions[0] if len(conditions) == 1 else {"$or": conditions})


def centroid(embeddings: Sequence[Sequence[float]]) -> np.ndarray:
    """The article's direction in the chunk space: the normalised mean of its chunk vectors."""
    centroid = np.mean(np.asarray(embeddings, dtype=np.float32), axis=0)
    return centroid / (float(np.linalg.norm(centroid)) or 1.0)
