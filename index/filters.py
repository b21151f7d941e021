"""Which articles a search may return (source, publication dates, ``as_of`` day, article ids), for both retrievers.

One ``ArticleFilter`` becomes Chroma metadata filters and a BM25 mask, so both search the same subset before ranking
(filtering results afterwards would come back short). Chroma orders only numbers, so chunks store ``published_day``
(``UNDATED_DAY`` when undated): undated articles fail a date range but pass ``as_of``, as nothing shows they came later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters

UNDATED_DAY = 0  # day ordinals start at 1 (0001-01-01)


def published_day(published_at: str | None) -> int | None:
    """The day of an ISO date or datetime as an ordinal, or None when there is no readable date."""
    if not published_at:
        return None
    try:
        return date.fromisoformat(published_at[:10]).toordinal()
    except ValueError:
        return None


def stored_day(published_at: str | None) -> int:
    """The ``published_day`` a chunk stores: its article's day, or ``UNDATED_DAY``."""
    day = published_day(published_at)
    return UNDATED_DAY if day is None else day


@dataclass(frozen=True)
class ArticleFilter:
    source: str | None = None
    published_after: date | None = None  # inclusive
    published_before: date | None = None  # inclusive
    article_ids: frozenset[str] | None = None
    as_of: date | None = None  # the day the question is asked: nothing published later (undated articles stay)

    def __post_init__(self) -> None:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after must not be later than published_before")
        if self.published_after and self.as_of and self.published_after > self.as_of:
            raise ValueError("published_after must not be later than as_of")
        if self.article_ids is not None and not self.article_ids:
            raise ValueError("article_ids must not be empty (leave it out to search every article)")

    @property
    def empty(self) -> bool:
        return self == ArticleFilter()

    @property
    def dates_only(self) -> bool:
        """Restricts by publication day alone (no source, no ids)."""
        return self.source is None and self.article_ids is None

    def day_mask(self, days: np.ndarray) -> np.ndarray:
        """``matches`` for many stored days (``stored_day``) at once, as far as dates go."""
        keep = np.ones(len(days), dtype=bool)
        if self.published_after is not None:
            keep &= days >= self.published_after.toordinal()
        if self.published_before is not None:
            keep &= (days <= self.published_before.toordinal()) & (days != UNDATED_DAY)
        if self.as_of is not None:
            keep &= days <= self.as_of.toordinal()
        return keep

    def metadata_filters(self) -> MetadataFilters | None:
        """The filter as LlamaIndex metadata filters over chunk metadata (None: no restriction)."""
        parts: list[MetadataFilter | MetadataFilters] = []
        if self.source is not None:
            parts.append(MetadataFilter(key="source", value=self.source, operator=FilterOperator.EQ))
        if self.article_ids is not None:
            ids = sorted(self.article_ids)
            parts.append(MetadataFilter(key="article_id", value=ids, operator=FilterOperator.IN))
        if self.published_after is not None:
            day = self.published_after.toordinal()
            parts.append(MetadataFilter(key="published_day", value=day, operator=FilterOperator.GTE))
        if self.published_before is not None:
            day = self.published_before.toordinal()
            parts.append(MetadataFilter(key="published_day", value=day, operator=FilterOperator.LTE))
            if self.published_after is None:  # an undated article's UNDATED_DAY is below every bound
                parts.append(MetadataFilter(key="published_day", value=UNDATED_DAY, operator=FilterOperator.GT))
        if self.as_of is not None:
            day = self.as_of.toordinal()
            parts.append(MetadataFilter(key="published_day", value=day, operator=FilterOperator.LTE))
        return MetadataFilters(filters=parts, condition=FilterCondition.AND) if parts else None

    def matches_chunk(self, metadata: Mapping[str, Any]) -> bool:
        """``matches`` for a stored chunk's metadata."""
        source, published_at = metadata.get("source"), metadata.get("published_at")
        return self.matches(str(metadata.get("article_id")), source and str(source), published_at and str(published_at))

    def matches(self, article_id: str, source: str | None, published_at: str | None) -> bool:
        """The same test in Python, for the BM25 side."""
        if self.article_ids is not None and article_id not in self.article_ids:
            return False
        if self.source is not None and source != self.source:
            return False
        day = published_day(published_at)
        if self.as_of is not None and day is not None and day > self.as_of.toordinal():
            return False
        if self.published_after is None and self.published_before is None:
            return True
        if day is None:
            return False
        if self.published_after is not None and day < self.published_after.toordinal():
            return False
        return self.published_before is None or day <= self.published_before.toordinal()
