"""What every command shares: settings from flags over the environment."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from service.settings import Settings

if TYPE_CHECKING:
    from index.filters import ArticleFilter


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags."""
    keys = ("data_dir", "host", "port", "llm_model", "top_k", "workers")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(**flag_overrides(args))


def filter_from_args(args: argparse.Namespace) -> ArticleFilter | None:
    """The --source/--after/--before/--article-id/--as-of options, validated like the API's ``filters``."""
    from service.http.schemas import QueryFilters

    values = {
        "source": args.source,
        "published_after": args.after,
        "published_before": args.before,
        "article_ids": getattr(args, "article_id", None),
        "as_of": getattr(args, "as_of", None),
    }
    if all(v is None for v in values.values()):
        return None
    try:
        return QueryFilters(**values).to_filter()
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
