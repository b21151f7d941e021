"""Tests for index.filters: one filter, the same answer for Chroma (metadata filters) and BM25 (matches)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from llama_index.core.vector_stores.types import FilterOperator

from index.filters import UNDATED_DAY, ArticleFilter, published_day, stored_day


@pytest.mark.parametrize(
    ("published_at", "expected"),
    [
        ("2022-06-15T00:00:00", date(2022, 6, 15).toordinal()),
        ("2022-06-15", date(2022, 6, 15).toordinal()),
        (None, None),
        ("", None),
        ("June 2022", None),
        ("2022-13-01", None),
    ],
)
def test_published_day(published_at: str | None, expected: int | None) -> None:
    assert published_day(published_at) == expected


def test_an_empty_filter_restricts_nothing() -> None:
    where = ArticleFilter()
    assert where.empty
    assert where.metadata_filters() is None
    assert where.matches("a", None, None)


@pytest.mark.parametrize(
    ("where", "article", "matches"),
    [
        (ArticleFilter(source="cnn.com"), ("a", "cnn.com", None), True),
        (ArticleFilter(source="cnn.com"), ("a", "CNN.com", None), False),  # exact, like Chroma's $eq
        (ArticleFilter(article_ids=frozenset({"a", "b"})), ("b", None, None), True),
        (ArticleFilter(article_ids=frozenset({"a"})), ("c", None, None), False),
        (ArticleFilter(published_after=date(2022, 6, 15)), ("a", None, "2022-06-15T23:00:00"), True),  # inclusive
        (ArticleFilter(published_after=date(2022, 6, 15)), ("a", None, "2022-06-14"), False),
        (ArticleFilter(published_before=date(2022, 6, 15)), ("a", None, "2022-06-15"), True),
        (ArticleFilter(published_before=date(2022, 6, 15)), ("a", None, "2022-06-16"), False),
        (ArticleFilter(published_before=date(2022, 6, 15)), ("a", None, None), False),  # no date, no match
        (ArticleFilter(source="x", published_after=date(2020, 1, 1)), ("a", "x", "2021-01-01"), True),
        (ArticleFilter(source="x", published_after=date(2020, 1, 1)), ("a", "y", "2021-01-01"), False),
        (ArticleFilter(as_of=date(2022, 6, 15)), ("a", None, "2022-06-15T23:00:00"), True),  # the day itself
        (ArticleFilter(as_of=date(2022, 6, 15)), ("a", None, "2022-06-16"), False),  # published later
        (ArticleFilter(as_of=date(2022, 6, 15)), ("a", None, None), True),  # undated: nothing says later
        (ArticleFilter(as_of=date(2022, 6, 15), published_before=date(2022, 6, 1)), ("a", None, None), False),
        (ArticleFilter(as_of=date(2022, 6, 15), published_after=date(2022, 6, 1)), ("a", None, "2022-06-20"), False),
    ],
)
def test_matches(where: ArticleFilter, article: tuple[str, str | None, str | None], matches: bool) -> None:
    assert where.matches(*article) is matches


def test_metadata_filters_cover_every_field() -> None:
    where = ArticleFilter(
        source="cnn.com",
        published_after=date(2022, 1, 1),
        published_before=date(2022, 12, 31),
        article_ids=frozenset({"b", "a"}),
    )
    filters = where.metadata_filters()
    assert filters is not None
    parts = {(f.key, f.operator): f.value for f in filters.filters}  # type: ignore[union-attr]
    assert parts == {
        ("source", FilterOperator.EQ): "cnn.com",
        ("article_id", FilterOperator.IN): ["a", "b"],
        ("published_day", FilterOperator.GTE): date(2022, 1, 1).toordinal(),
        ("published_day", FilterOperator.LTE): date(2022, 12, 31).toordinal(),
    }


def test_an_upper_date_bound_alone_also_leaves_out_undated_articles() -> None:
    """Undated chunks carry UNDATED_DAY: below every bound, so ``<= day`` alone would let them in."""
    filters = ArticleFilter(published_before=date(2022, 12, 31)).metadata_filters()
    assert filters is not None
    parts = {(f.key, f.operator): f.value for f in filters.filters}  # type: ignore[union-attr]
    assert parts == {
        ("published_day", FilterOperator.LTE): date(2022, 12, 31).toordinal(),
        ("published_day", FilterOperator.GT): UNDATED_DAY,
    }


def test_as_of_keeps_undated_articles() -> None:
    filters = ArticleFilter(as_of=date(2022, 6, 15)).metadata_filters()
    assert filters is not None
    parts = [(f.key, f.operator, f.value) for f in filters.filters]  # type: ignore[union-attr]
    assert parts == [("published_day", FilterOperator.LTE, date(2022, 6, 15).toordinal())]
    assert date(1, 1, 1).toordinal() > UNDATED_DAY


def test_reversed_dates_and_an_empty_id_list_are_refused() -> None:
    with pytest.raises(ValueError, match="later"):
        ArticleFilter(published_after=date(2022, 2, 1), published_before=date(2022, 1, 1))
    with pytest.raises(ValueError, match="as_of"):
        ArticleFilter(published_after=date(2022, 2, 1), as_of=date(2022, 1, 1))
    with pytest.raises(ValueError, match="empty"):
        ArticleFilter(article_ids=frozenset())


DAYS = ["2022-06-14", "2022-06-15T23:59:00", "2022-06-16", None, "2022-01-01"]
DATE_FILTERS = [
    ArticleFilter(published_after=date(2022, 6, 15)),
    ArticleFilter(published_before=date(2022, 6, 15)),
    ArticleFilter(as_of=date(2022, 6, 15)),
    ArticleFilter(published_after=date(2022, 1, 1), published_before=date(2022, 6, 15), as_of=date(2022, 6, 14)),
]


@pytest.mark.parametrize("where", DATE_FILTERS)
def test_the_vectorised_day_mask_agrees_with_matches(where: ArticleFilter) -> None:
    assert where.dates_only
    days = np.array([stored_day(p) for p in DAYS])
    assert where.day_mask(days).tolist() == [where.matches("a", None, p) for p in DAYS]
    assert [where.matches_chunk({"article_id": "a", "published_at": p}) for p in DAYS] == where.day_mask(days).tolist()
