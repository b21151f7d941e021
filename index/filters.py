"""Which articles a search may return: by source, publication date range and article id.

One filter object serves both retrievers, so both search the same subset (not a filter applied to
results afterwards, which would come back short): for Chroma it becomes LlamaIndex metadata filters on
the chunk metadata; for BM25 a per-chunk mask. Dates compare by day; Chroma only orders numbers, so
every chunk also stores its article's publication day as an integer (``published_day``).
An article without a known date never matches a date bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters


def published_day(published_at: str | None) -> int | None:
    """The day of an ISO date or datetime as an ordinal, or None when there is no readable date."""
    if not published_at:
        return None
    try:
        return date.fromisoformat(published_at[:10]).toordinal()
    except ValueError:
        return None


@dataclass(frozen=True)
class ArticleFilter:
    source: str | None = None
    published_after: date | None = None  # inclusive
    published_before: date | None = None  # inclusive
    article_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after must not be later than published_before")
        if self.article_ids is not None and not self.article_ids:
            raise ValueError("article_ids must not be empty (leave it out to search every article)")

    @property
    def empty(self) -> bool:
        return self == ArticleFilter()

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
        return MetadataFilters(filters=parts, condition=FilterCondition.AND) if parts else None

    def matches(self, article_id: str, source: str | None, published_at: str | None) -> bool:
        """The same test in Python, for the BM25 side."""
        if self.article_ids is not None and article_id not in self.article_ids:
            return False
        if self.source is not None and source != self.source:
            return False
        if self.published_after is None and self.published_before is None:
            return True
        day = published_day(published_at)
        if day is None:
            return False
        if self.published_after is not None and day < self.published_after.toordinal():
            return False
        return self.published_before is None or day <= self.published_before.toordinal()
