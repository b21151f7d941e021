"""The ``citewire`` command: ingest, serve, ask, info.

Flags override the ``CITEWIRE_*`` environment, which overrides the defaults in service/settings.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from service.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for key in ("data_dir", "host", "port", "llm_model", "top_k"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    return Settings(**overrides)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from index.ingest import Outcome, ingest_articles
    from index.loaders import ArticleFormatError, collect_files, expected_count, load_file
    from service.components import build_components

    settings = _settings(args)
    try:
        files = collect_files(Path(p) for p in args.paths)
    except ArticleFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print("error: no .txt, .md or .jsonl files found", file=sys.stderr)
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


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api import create_app

    settings = _settings(args)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from service.components import build_components, build_engine
    from service.runtime import configure_for_serving

    settings = _settings(args)
    question = args.question.strip()
    if not question or len(question) > settings.max_question_chars:
        print(f"error: the question must have 1 to {settings.max_question_chars} characters", file=sys.stderr)
        return 2
    configure_for_serving()
    answer = build_engine(build_components(settings)).answer(question, args.top_k)
    if args.json:
        from service.api import to_query_response

        print(json.dumps(to_query_response(answer).model_dump(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for c in answer.citations:
        a = c.passage.article.article
        meta = ", ".join(x for x in (a.source, (a.published_at or "")[:10]) if x)
        print(f"\n[{c.n}] {a.title} ({meta}) {a.id} chars {c.start}-{c.end}")
        print(f'    "{" ".join(c.quote.split())}"')
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from index.embedding import resolve_model_path
    from service.components import open_store

    settings = _settings(args)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citewire", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--data-dir", type=Path, help="store folder (default: $CITEWIRE_DATA_DIR or ./data)")
        return p

    p = add("ingest", "index .txt/.md/.jsonl articles (files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_ingest)

    p = add("serve", "serve the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.set_defaults(func=_cmd_serve)

    p = add("ask", "answer one question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int)
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.add_argument("--json", action="store_true", help="print the /v1/query JSON")
    p.set_defaults(func=_cmd_ask)

    p = add("info", "show models, store size and counts")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"error: invalid settings:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
