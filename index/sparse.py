"""BM25 over every stored chunk (bm25s): it finds the exact names, numbers and rare terms that dense search misses.

A derived copy of the Chroma chunk collection (each document is title + chunk text, as embedded), updated in memory by
``ArticleStore`` on every write and delete. ``flush`` saves into a fresh folder, then repoints ``CURRENT``, so a crash
leaves the previous copy whole; a copy whose chunk ids differ from Chroma's is rebuilt from Chroma on open.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.filters import ArticleFilter, stored_day

log = logging.getLogger(__name__)

_CURRENT = "CURRENT"
_DOCS = "docs.jsonl"
_OTHERS_AFTER_S = 600  # another process's saved copy untouched this long is no longer being written


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stopwords (bm25s's tokenizer)."""
    if not texts:
        return []
    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)
    return [list(t) for t in tokens]


@dataclass(frozen=True)
class SparseDoc:
    """One chunk as BM25 sees it, with the article fields filters need."""

    chunk_id: str
    article_id: str
    tokens: tuple[str, ...]
    source: str | None = None
    published_at: str | None = None


@dataclass(frozen=True)
class SparseScores:
    """BM25 scores of one query: the best chunks, and a lookup for any other chunk."""

    top: list[tuple[str, float]]
    _scores: np.ndarray = field(repr=False)
    _rows: dict[str, int] = field(repr=False)

    def of(self, chunk_id: str) -> float:
        row = self._rows.get(chunk_id)
        return float(self._scores[row]) if row is not None and len(self._scores) else 0.0


class SparseIndex:
    """An in-memory bm25s model over ``SparseDoc``s, rebuilt lazily after changes, saved on ``flush``."""

    def __init__(self, directory: Path | None = None, docs: Iterable[SparseDoc] = ()) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._docs: dict[str, SparseDoc] = {d.chunk_id: d for d in docs}
        self._by_article: dict[str, set[str]] = {}  # article id -> its chunk ids, so a write is not O(store)
        for d in self._docs.values():
            self._by_article.setdefault(d.article_id, set()).add(d.chunk_id)
        self._model: bm25s.BM25 | None = None
        self._order: list[str] = []  # chunk ids in the model's row order
        self._rows: dict[str, int] = {}  # chunk id -> row
        self._days: np.ndarray | None = None  # each row's stored publication day, built when a date filter asks
        self._stale = True  # the model lags behind _docs
        self._unsaved = bool(self._docs)

    # -- contents -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._docs)

    def chunk_ids(self) -> set[str]:
        with self._lock:
            return set(self._docs)

    def replace_article(self, article_id: str, docs: Sequence[SparseDoc]) -> None:
        """Drop every chunk of the article and add ``docs`` (its current chunks) in their place."""
        with self._lock:
            self._drop_article(article_id)
            for d in docs:
                self._docs[d.chunk_id] = d
                self._by_article.setdefault(d.article_id, set()).add(d.chunk_id)
            self._changed()

    def remove_article(self, article_id: str) -> None:
        with self._lock:
            self._drop_article(article_id)
            self._changed()

    def apply(self, added: Sequence[SparseDoc], removed: Iterable[str]) -> None:
        """Add and drop single chunks: catching up with what another process wrote to the store."""
        with self._lock:
            for cid in removed:
                gone = self._docs.pop(cid, None)
                if gone is not None:
                    self._by_article.get(gone.article_id, set()).discard(cid)
            for d in added:
                self._docs[d.chunk_id] = d
                self._by_article.setdefault(d.article_id, set()).add(d.chunk_id)
            self._changed()

    def _drop_article(self, article_id: str) -> None:
        for cid in self._by_article.pop(article_id, set()):
            self._docs.pop(cid, None)

    def _changed(self) -> None:
        self._stale = self._unsaved = True

    # -- search -------------------------------------------------------------------------------

    def search(self, query: str, k: int, where: ArticleFilter | None = None) -> SparseScores:
        """The ``k`` chunks with the highest positive BM25 score for the query, best first.

        With ``where``, chunks of other articles score 0 (bm25s's weight mask), so they never appear."""
        with self._lock:
            model, order, rows = self._current_model()
            mask = self._mask(order, where) if where is not None and not where.empty else None
        if model is None:
            return SparseScores([], np.zeros(0), {})
        known = [t for t in (tokenize([query]) or [[]])[0] if t in model.vocab_dict]
        if not known:
            return SparseScores([], np.zeros(0), {})
        scores = model.get_scores(known, weight_mask=mask)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, dtype=int)
        ordered = sorted((int(i) for i in best if scores[i] > 0), key=lambda i: (-scores[i], i))
        return SparseScores([(order[i], float(scores[i])) for i in ordered], scores, rows)

    def _mask(self, order: Sequence[str], where: ArticleFilter) -> np.ndarray:
        if where.dates_only:  # the common as-of case: one vectorised comparison, not a call per chunk
            if self._days is None or len(self._days) != len(order):
                self._days = np.fromiter((stored_day(self._docs[cid].published_at) for cid in order), dtype=np.int64)
            return where.day_mask(self._days).astype(float)
        docs = (self._docs[cid] for cid in order)
        return np.fromiter((where.matches(d.article_id, d.source, d.published_at) for d in docs), dtype=float)

    def _current_model(self) -> tuple[bm25s.BM25 | None, list[str], dict[str, int]]:
        if self._stale:
            self._set_order(sorted(self._docs))
            self._model = _build_model([self._docs[c].tokens for c in self._order]) if self._order else None
            self._stale = False
        return self._model, self._order, self._rows

    def _set_order(self, order: list[str]) -> None:
        """The model's row order, and its inverse, always set together."""
        self._order = order
        self._rows = {cid: i for i, cid in enumerate(order)}
        self._days = None

    # -- persistence --------------------------------------------------------------------------

    def flush(self) -> None:
        """Save to a new folder, then switch ``CURRENT`` to it; old copies no one writes are removed last."""
        if self.directory is None:
            return
        with self._lock:
            if not self._unsaved:
                return
            model, _, _ = self._current_model()
            self.directory.mkdir(parents=True, exist_ok=True)
            generation = f"gen-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            target = self.directory / generation
            target.mkdir()
            if model is not None:
                model.save(str(target), show_progress=False)
            with (target / _DOCS).open("w", encoding="utf-8") as out:
                for cid in self._order:
                    d = self._docs[cid]
                    record = [d.chunk_id, d.article_id, d.source, d.published_at, d.tokens]
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            _write_atomically(self.directory / _CURRENT, generation)
            for old in self.directory.glob("gen-*"):
                if old.name != generation and _abandoned(old):
                    shutil.rmtree(old, ignore_errors=True)
            self._unsaved = False

    @classmethod
    def load(cls, directory: Path) -> SparseIndex | None:
        """The saved index, or None when there is none or it cannot be read."""
        try:
            generation = (directory / _CURRENT).read_text(encoding="utf-8").strip()
            folder = directory / generation
            docs = []
            with (folder / _DOCS).open(encoding="utf-8") as lines:
                for line in lines:
                    cid, aid, source, published_at, tokens = json.loads(line)
                    docs.append(SparseDoc(cid, aid, tuple(tokens), source, published_at))
            model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if docs else None
        except (OSError, ValueError, KeyError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("sparse index at %s is unreadable (%s); it will be rebuilt", directory, exc)
            return None
        index = cls(directory, docs)
        index._set_order([d.chunk_id for d in docs])
        index._model = model
        index._stale = index._order != sorted(index._order)
        index._unsaved = False
        return index


def _abandoned(folder: Path) -> bool:
    """A saved copy no one is writing: this process's own, or untouched for a while.

    Workers sharing a data dir flush into the same folder; another process's copy may still be
    being written (removing it then would fail that process's flush)."""
    if folder.name.startswith(f"gen-{os.getpid()}-"):
        return True
    try:
        return time.time() - folder.stat().st_mtime > _OTHERS_AFTER_S
    except OSError:
        return False


def _build_model(tokens: Sequence[Sequence[str]]) -> bm25s.BM25:
    model = bm25s.BM25()
    model.index([list(t) for t in tokens], show_progress=False)
    return model


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
