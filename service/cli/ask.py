"""``citewire ask``: one question answered in the terminal, with its citations."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from service.cli.common import filter_from_args, settings_from_args

if TYPE_CHECKING:
    pass


def _cmd_ask(args: argparse.Namespace) -> int:
    from service.components import build_components, build_engine, configure_for_serving

    settings = settings_from_args(args)
    question = args.question.strip()
    if not question or len(question) > settings.max_question_chars:
        print(f"error: the question must have 1 to {settings.max_question_chars} characters", file=sys.stderr)
        return 2
    try:
        where = filter_from_args(args)
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
