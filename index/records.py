"""How articles and chunks are laid out in Chroma: ids, metadata, LlamaIndex nodes, and records read back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from chromadb.api.models.Collection import Collection
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


def chunk_owner(chunk_id_: str) -> tuple[str, str] | None:
    """The (article id, version) a ``chunk_id`` names, read from the right (an id may hold "::"); None if not one."""
    parts = chunk_id_.rsplit("::", 2)
    if len(parts) != 3 or not parts[0] or not parts[2].isdigit():
        return None
    return parts[0], parts[1]


def uncommitted(chunk_ids: Iterable[str], articles: Any) -> set[str]:
    """The chunk ids whose article has no record in ``articles`` (a Chroma get of the records with metadatas)
    or one of another version: what readers ignore. Owners come from the ids, so no chunk metadata is read."""
    committed = {aid: str(meta.get("version")) for aid, meta in zip(*ids_and_metas(articles), strict=True)}
    owners = ((cid, chunk_owner(cid)) for cid in chunk_ids)
    return {cid for cid, owner in owners if owner is not None and committed.get(owner[0]) != owner[1]}


def orphaned_chunks(chunks: Collection, articles: Collection, also: Iterable[str] = ()) -> set[str]:
    """The uncommitted ids among the chunk collection's and ``also`` (a BM25 copy's): their ids and the article
    ids clear a normal store (``maybe_uncommitted``); the article records are read only if need be."""
    held = {*chunks.get(include=[])["ids"], *also}
    if not maybe_uncommitted(held, set(articles.get(include=[])["ids"])):
        return set()
    return uncommitted(held, articles.get(include=["metadatas"]))


def maybe_uncommitted(chunk_ids: Iterable[str], recorded: set[str]) -> bool:
    """Whether a chunk may be uncommitted: its article has no record, or the article's chunks name two versions.
    A write adds a version's chunks before its record and removes the old version's after, so an article with
    a record and chunks of one version has that version committed: ids alone clear a normal store."""
    versions: dict[str, str] = {}
    for owner in filter(None, map(chunk_owner, chunk_ids)):
        if owner[0] not in recorded or versions.setdefault(*owner) != owner[1]:
            return True
    return False


def sparse_docs(got: Any) -> list[SparseDoc]:
    """BM25 documents of a Chroma ``get`` with documents and metadatas."""
    metas = [dict(m or {}) for m in got["metadatas"] or []]
    texts = [
        chunk_search_text(str(m.get("title", "")), d or "") for m, d in zip(metas, got["documents"] or [], strict=True)
    ]
    return [sparse_doc(cid, m, t) for cid, m, t in zip(got["ids"], metas, tokenize(texts), strict=True)]


def scan_sparse_docs(chunks: Collection, batch: int) -> list[SparseDoc]:
    """BM25 documents of every chunk in the collection, read ``batch`` at a time."""
    docs: list[SparseDoc] = []
    offset = 0
    while (got := chunks.get(include=["documents", "metadatas"], limit=batch, offset=offset))["ids"]:
        docs.extend(sparse_docs(got))
        offset += len(got["ids"])
    return docs


def backfill_published_day(chunks: Collection, batch: int) -> None:
    """Give chunks written without ``published_day`` theirs: ``UNDATED_DAY`` for undated ones (so ``as_of``
    keeps them), the article's day for dated ones from stores older than date filters."""
    offset = 0
    while (got := chunks.get(include=["metadatas"], limit=batch, offset=offset))["ids"]:
        metas = [dict(m or {}) for m in got["metadatas"] or []]
        missing = [(cid, m) for cid, m in zip(got["ids"], metas, strict=True) if "published_day" not in m]
        if missing:  # Chroma merges the new key into each chunk's metadata
            days: list[Mapping[str, Any]] = [
                {"published_day": stored_day(str(m["published_at"]) if m.get("published_at") else None)}
                for _, m in missing
            ]
            chunks.update(ids=[cid for cid, _ in missing], metadatas=days)
        offset += len(got["ids"])


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
