"""The ``citewire`` command: ingest, serve, mcp, ask, list, delete, info, settings, eval.

Flags override the ``CITEWIRE_*`` environment, which overrides the defaults in service/settings.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from index.errors import SetupError
from service.cli.ask import _cmd_ask
from service.cli.common import settings_from_args
from service.cli.evaluate import _cmd_eval
from service.cli.mcp import _cmd_mcp
from service.cli.serve import _cmd_serve
from service.cli.store import _cmd_delete, _cmd_info, _cmd_ingest, _cmd_list


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

    p = add("mcp", "serve the MCP tools and resources over stdio (for Claude Desktop and other MCP clients)")
    p.add_argument("--llm-model", help="profile (default, fast, tiny) or a .gguf path")
    p.set_defaults(func=_cmd_mcp)

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

    p = sub.add_parser("settings", help="list every CITEWIRE_* setting with its default and description")
    p.add_argument("--markdown", action="store_true", help="as a markdown table")
    p.set_defaults(func=_cmd_settings)

    p = add("key", "print the API key writes need (made in the data dir on first use, unless CITEWIRE_API_KEY is set)")
    p.set_defaults(func=_cmd_key)

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


def _cmd_settings(args: argparse.Namespace) -> int:
    from service.settings import settings_markdown, settings_rows

    if args.markdown:
        print(settings_markdown())
        return 0
    for variable, default, about in settings_rows():
        print(f"{variable:<37} {default:<24} {about}")
    return 0


def _cmd_key(args: argparse.Namespace) -> int:
    from service.http.auth import api_key_for

    print(api_key_for(settings_from_args(args)).get_secret_value())
    return 0


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
