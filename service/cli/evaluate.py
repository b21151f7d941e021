"""``citewire eval``: a questions file answered and scored, with an HTML report (see service/evaluation/)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.cli.common import settings_from_args

if TYPE_CHECKING:
    pass


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
    from service.evaluation.report import write_report
    from service.evaluation.runner import EvalSetupError, check_held_out, index_corpus, make_engine, run_eval
    from service.evaluation.summary import differences_text, summary_table_text
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
    settings = settings_from_args(args)
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
