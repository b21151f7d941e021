"""The ``citewire`` command: ingest, serve, ask, info, eval.

Flags override the ``CITEWIRE_*`` environment, which overrides the defaults in service/settings.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from index.errors import SetupError
from service.settings import Settings

if TYPE_CHECKING:
    from index.filters import ArticleFilter


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags."""
    keys = ("data_dir", "host", "port", "llm_model", "top_k", "workers")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(**_overrides(args))


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


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    say = _announcer(settings)
    if settings.api_key is None:
        loopback = settings.host in ("127.0.0.1", "localhost", "::1")
        where = "this machine only" if loopback else f"EVERYONE who can reach {settings.host}"
        say(
            f"citewire: no CITEWIRE_API_KEY set: anyone on {where} can add and delete articles "
            "(set CITEWIRE_API_KEY to require 'Authorization: Bearer <key>' for writes)"
        )
    if settings.workers > 1:
        return _serve_workers(args, settings)
    from service.http.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", **_logging(settings))
    return 0


def _announcer(settings: Settings) -> Callable[[str], None]:
    """How ``serve`` tells its operator something: a stderr line, or with JSON logs a warning log line
    (and no progress bars, which are not lines a log collector can read)."""
    if settings.log_format != "json":
        return lambda message: print(message, file=sys.stderr)
    import logging.config

    from service.http.observability import json_log_config

    os.environ.setdefault("TQDM_DISABLE", "1")
    from transformers.utils import logging as transformers_logging  # its bars ignore TQDM_DISABLE

    transformers_logging.disable_progress_bar()
    logging.config.dictConfig(json_log_config())
    return logging.getLogger("citewire").warning


def _logging(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging arguments: its own lines, or JSON lines with request ids (CITEWIRE_LOG_FORMAT=json)."""
    if settings.log_format != "json":
        return {}
    from service.http.observability import json_log_config

    return {"log_config": json_log_config(), "access_log": False}


def _serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    """uvicorn's worker processes, each building its app from the environment (``app_factory``)."""
    import copy

    import uvicorn

    from index.store import open_http_client

    open_http_client(str(settings.chroma_url))  # fails here once, not in every worker after loading its models
    os.environ.update({f"CITEWIRE_{key.upper()}": str(value) for key, value in _overrides(args).items()})
    if "llm_threads" not in settings.model_fields_set:
        # llama.cpp's threads spin while they wait: workers generating at once must not share cores.
        os.environ["CITEWIRE_LLM_THREADS"] = str(max(1, settings.llm_threads // settings.workers))
    # Each log line names its worker's pid: which one answered is worth knowing.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for formatter in log_config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s ", "%(levelprefix)s [%(process)d] ", 1)
    _announcer(settings)(
        f"citewire: {settings.workers} workers, each with its own models and its own generation queue "
        f"({settings.max_queued_requests} waiting at most, each)"
    )
    uvicorn.run(
        "service.http.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        **({"log_config": log_config} | _logging(settings)),
    )
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from service.components import open_store

    store = open_store(_settings(args))
    missing = [article_id for article_id in args.ids if not store.delete(article_id)]
    store.flush()
    for article_id in missing:
        print(f"not found: {article_id}", file=sys.stderr)
    print(f"{len(args.ids) - len(missing)} deleted; store has {store.count_articles()} articles")
    return 1 if missing else 0


def _cmd_list(args: argparse.Namespace) -> int:
    from service.components import open_store

    try:
        where = _filter_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stored = [
        s
        for s in open_store(_settings(args)).list()
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


def _cmd_ask(args: argparse.Namespace) -> int:
    from service.components import build_components, build_engine, configure_for_serving

    settings = _settings(args)
    question = args.question.strip()
    if not question or len(question) > settings.max_question_chars:
        print(f"error: the question must have 1 to {settings.max_question_chars} characters", file=sys.stderr)
        return 2
    try:
        where = _filter_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_for_serving()
    choices = [c.strip() for c in args.choice or () if c.strip()]
    answer = build_engine(build_components(settings)).answer(question, args.top_k, where, choices)
    if args.json:
        from service.answering.schemas import to_query_response

        print(json.dumps(to_query_response(answer).model_dump(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for c in answer.citations:
        a = c.passage.article.article
        meta = ", ".join(x for x in (a.source, (a.published_at or "")[:10]) if x)
        print(f"\n[{c.n}] {a.title} ({meta}) {a.id} chars {c.start}-{c.end}")
        print(f'    "{" ".join(c.quote.split())}"')
    return 0


def _filter_from_args(args: argparse.Namespace) -> ArticleFilter | None:
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


def _cmd_eval(args: argparse.Namespace) -> int:
    """Batch evaluation (issue #3): see service/evaluation/ for what is measured and how."""
    from datetime import UTC, datetime

    from tqdm import tqdm

    from index.loaders import ArticleFormatError, expected_count, load_file
    from service.components import build_components, configure_for_serving
    from service.evaluation.dataset import (
        QuestionFormatError,
        answer_bearing,
        holdout,
        load_questions,
        split_questions,
    )
    from service.evaluation.metrics import summarise
    from service.evaluation.report import differences_text, summary_table_text, write_report
    from service.evaluation.runner import EvalSetupError, check_held_out, index_corpus, make_engine, run_eval
    from service.llm.backends import build_llm

    if args.corpus is not None and args.data_dir is None:
        print(
            "error: --corpus needs an explicit --data-dir (keep evaluation articles out of the serving store)",
            file=sys.stderr,
        )
        return 2
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    if args.holdout_gold is not None and not 0.0 <= args.holdout_gold <= 1.0:
        print("error: --holdout-gold must be a fraction between 0 and 1", file=sys.stderr)
        return 2
    settings = _settings(args)
    if args.corpus is not None and settings.chroma_url is not None:
        print(
            "error: --corpus would index evaluation articles into the shared Chroma server: unset CITEWIRE_CHROMA_URL",
            file=sys.stderr,
        )
        return 2
    try:
        questions = load_questions(Path(args.questions))
    except QuestionFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.split is not None:
        questions = split_questions(questions, args.split)
    if args.limit is not None:
        questions = questions[: args.limit]
    if not questions:
        print("error: no questions to evaluate", file=sys.stderr)
        return 2
    drop: frozenset[str] = frozenset()
    expect: frozenset[str] = frozenset()
    extra: frozenset[str] = frozenset()
    if args.holdout_answers and not (args.holdout_gold and args.corpus):
        print("error: --holdout-answers needs --holdout-gold and --corpus", file=sys.stderr)
        return 2
    if args.holdout_gold:
        held = holdout(questions, args.holdout_gold, args.seed)
        if args.holdout_answers:
            try:
                extra = answer_bearing(((a.id, a.text) for a in load_file(Path(args.corpus))), questions, held)
            except ArticleFormatError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        drop, expect = held.drop_article_ids | extra, held.expect_abstain
    engines = ["citewire", "baseline"] if args.engine == "both" else [args.engine]

    components = build_components(settings)
    try:
        if args.corpus is not None:
            corpus = Path(args.corpus)
            with tqdm(total=expected_count(corpus), desc="index corpus", unit="article", disable=args.quiet) as bar:
                report = index_corpus(corpus, components, drop, lambda _id, _outcome: bar.update())
            print(
                f"corpus: {len(report.ingest.outcomes)} articles indexed ({report.ingest.chunks_written} chunks "
                f"written), {report.held_out} held out; store has {components.store.count_articles()} articles",
                file=sys.stderr,
            )
        else:
            check_held_out(components.store, drop)
    except (ArticleFormatError, EvalSetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if components.store.count_articles() == 0:
        print(f"error: no articles in {settings.data_dir}; pass --corpus or run citewire ingest", file=sys.stderr)
        return 2

    llm = build_llm(settings)
    built: dict[str, Any] = {}
    for name in engines:  # all built first: the baseline embeds the corpus again, with every thread
        with tqdm(desc=f"{name} index", unit="chunk", disable=args.quiet or name != "baseline") as bar:

            def indexed(done: int, total: int, bar: Any = bar) -> None:
                bar.total = total
                bar.update(done - bar.n)

            built[name] = make_engine(name, components, llm, settings.top_k, indexed)
    configure_for_serving()  # answer with the server's thread set-up, so latencies match serving
    results: dict[str, list[dict[str, Any]]] = {}
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as out:
        # One engine after the other, not interleaved: each keeps llama.cpp's cached prompt prefix.
        for name in engines:
            with tqdm(total=len(questions), desc=name, unit="question", disable=args.quiet) as bar:

                def finished(result: dict[str, Any], bar: Any = bar) -> None:
                    out.write(json.dumps(result, ensure_ascii=False) + "\n")
                    out.flush()
                    bar.update()

                results[name] = run_eval(
                    questions,
                    name,
                    components,
                    llm,
                    settings.top_k,
                    finished,
                    expect_abstain=expect,
                    include_choices=args.with_choices,
                    question_dates=not args.ignore_question_dates,
                    engine=built[name],
                )
    summaries = {name: summarise(rs) for name, rs in results.items()}
    meta = {
        "questions": f"{args.questions} ({len(questions)} evaluated)",
        "corpus": args.corpus or f"existing store in {settings.data_dir}",
        "hold-out": f"{args.holdout_gold} of questions, seed {args.seed}: {len(drop)} articles dropped "
        f"({len(extra)} of them other articles stating a held-out answer), {len(expect)} questions expect abstention"
        if args.holdout_gold
        else "none",
        "choices in question": "yes" if args.with_choices else "no",
        "question dates": "ignored" if args.ignore_question_dates else "as-of day of each dated question",
        "llm": f"{settings.llm_backend}: {settings.llm_model}",
        "embedder": settings.embed_model,
        "top_k": settings.top_k,
        "split": args.split or "all questions",
        "answerer": settings.answerer,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_report(Path(args.report), results, summaries, base_url=args.base_url, meta=meta)
    print(summary_table_text(summaries))
    differences = differences_text(results)
    if differences:
        print("\n" + differences)
    print(f"\nresults: {out_path}\nreport:  {args.report}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citewire", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--data-dir", type=Path, help="store folder (default: $CITEWIRE_DATA_DIR or ./data)")
        return p

    p = add("ingest", "index .txt/.md/.html/.jsonl articles (files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_ingest)

    p = add("serve", "serve the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: $CITEWIRE_WORKERS or 1); more than one needs CITEWIRE_CHROMA_URL. Each "
        "loads its own models and has its own one-at-a-time generation queue; the cores are split between them",
    )
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.set_defaults(func=_cmd_serve)

    p = add("ask", "answer one question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int)
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.add_argument("--json", action="store_true", help="print the /v1/query JSON")
    p.add_argument("--source", help="only articles from this source (exact, e.g. cnn.com)")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="only articles published on or after this day")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="only articles published on or before this day")
    p.add_argument("--article-id", action="append", help="only this article (repeat for several)")
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="the day the question is asked: nothing published later, and 'latest' counts back from it",
    )
    p.add_argument("--choice", action="append", help="an option of a multiple-choice question (repeat for each)")
    p.set_defaults(func=_cmd_ask)

    p = add("delete", "remove articles (and their chunks) from the store")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=_cmd_delete)

    p = add("list", "list stored articles, newest first")
    p.add_argument("--source", help="only articles from this source (exact)")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="only articles published on or after this day")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="only articles published on or before this day")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="at most this many (default: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_cmd_list)

    p = add("info", "show models, store size and counts")
    p.set_defaults(func=_cmd_info)

    p = add("eval", "answer a questions .jsonl and score retrieval, answers, citations, abstention, latency")
    p.add_argument("questions", help="questions .jsonl: {id, question, answer, evidence: [{article_id}], ...}")
    p.add_argument("--corpus", help="articles .jsonl to index into --data-dir first (else the store as it is)")
    p.add_argument("--engine", choices=["citewire", "baseline", "both"], default="citewire")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument(
        "--split",
        choices=["tune", "check"],
        help="only one half of the questions by id: tune (first half: choose settings on it) or check (report on it)",
    )
    p.add_argument(
        "--holdout-gold",
        type=float,
        metavar="FRACTION",
        help="leave this share of questions' gold articles out of the corpus: they expect abstention",
    )
    p.add_argument(
        "--holdout-answers",
        action="store_true",
        help="with --holdout-gold and --corpus: also leave out other articles of a held-out question's story "
        "that state its answer",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the hold-out draw (default 0)")
    p.add_argument("--top-k", type=int, help="passages given to the model")
    p.add_argument("--with-choices", action="store_true", help="append multiple-choice options to the question")
    p.add_argument(
        "--ignore-question-dates",
        action="store_true",
        help="do not ask a question as of its question_date (by default nothing published later is searched)",
    )
    p.add_argument("--out", required=True, help="results .jsonl, one object per question and engine")
    p.add_argument("--report", required=True, help="HTML report to write")
    p.add_argument("--base-url", help="link citations in the report to a running server's passage lookup")
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"error: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
