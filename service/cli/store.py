"""Store commands: ingest files and folders, delete, list, and show what the store and models are."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.cli.common import filter_from_args, settings_from_args

if TYPE_CHECKING:
    pass


def _cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from index.ingest import Outcome, ingest_articles
    from index.loaders import ArticleFormatError, collect_files, expected_count, load_file
    from service.components import build_components

    settings = settings_from_args(args)
    try:
        files = collect_files(Path(p) for p in args.paths)
    except ArticleFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("error: no .txt, .md, .html or .jsonl files found", file=sys.stderr)
        return 2
    components = build_components(settings)
    errors: list[str] = []

    def articles() -> Iterator[Any]:
        for path in files:
            try:
                yield from load_file(path)
            except ArticleFormatError as exc:
                errors.append(str(exc))

    totals = dict.fromkeys(Outcome, 0)
    total = sum(expected_count(path) for path in files)
    with tqdm(total=total, desc="ingest", unit="article", disable=args.quiet) as bar:

        def progress(article: Any, outcome: Outcome) -> None:
            totals[outcome] += 1
            bar.set_postfix({k.value: v for k, v in totals.items()}, refresh=False)
            bar.update()

        report = ingest_articles(articles(), components.store, components.embedder, components.chunking, progress)
    for message in errors:
        print(f"skipped: {message}", file=sys.stderr)
    print(
        f"{len(report.outcomes)} articles: {report.count(Outcome.CREATED)} created, "
        f"{report.count(Outcome.REPLACED)} replaced, {report.count(Outcome.UNCHANGED)} unchanged; "
        f"{report.chunks_written} chunks written; store has {components.store.count_articles()} articles, "
        f"{components.store.count_chunks()} chunks in {settings.data_dir}"
    )
    return 1 if errors else 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from service.components import open_store

    store = open_store(settings_from_args(args))
    missing = [article_id for article_id in args.ids if not store.delete(article_id)]
    store.flush()
    for article_id in missing:
        print(f"not found: {article_id}", file=sys.stderr)
    print(f"{len(args.ids) - len(missing)} deleted; store has {store.count_articles()} articles")
    return 1 if missing else 0


def _cmd_list(args: argparse.Namespace) -> int:
    from service.components import open_store

    try:
        where = filter_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stored = [
        s
        for s in open_store(settings_from_args(args)).list()
        if where is None or where.matches(s.article.id, s.article.source, s.article.published_at)
    ]
    page = stored[args.offset : args.offset + args.limit] if args.limit else stored[args.offset :]
    for s in page:
        a = s.article
        if args.json:
            row = {"id": a.id, "title": a.title, "source": a.source, "published_at": a.published_at}
            print(json.dumps({**row, "lang": a.lang, "chunks": s.chunk_count}, ensure_ascii=False))
        else:
            print(f"{a.id}\t{(a.published_at or '')[:10]}\t{a.source or ''}\t{a.title}")
    if not args.json:
        print(f"{len(page)} of {len(stored)} articles", file=sys.stderr)
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from index.embedding import resolve_model_path
    from service.components import open_store

    settings = settings_from_args(args)
    store = open_store(settings)
    size = sum(f.stat().st_size for f in settings.data_dir.rglob("*") if f.is_file())
    info = {
        "data_dir": str(settings.data_dir.resolve()),
        "store_bytes": size,
        "articles": store.count_articles(),
        "chunks": store.count_chunks(),
        "embed_model": f"{settings.embed_model} ({resolve_model_path(settings.embed_model)})",
        "llm": f"{settings.llm_backend}: {settings.llm_model}",
        "chunk_tokens": settings.chunk_tokens,
        "top_k": settings.top_k,
    }
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0
