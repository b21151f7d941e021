"""Retrieval benchmark: dense-only, BM25-only and hybrid on RealTime QA's full 2,099-article corpus.

For each development question the retriever ranks chunks; the ranking is reduced to distinct
articles and scored against the question's gold article ids (hit@1, hit@5, hit@10, MRR@10), with
per-query latency, all modes from one run over the same store. Extra hybrid rows try other BM25
weights in the fusion (``--sparse-weights``), which is how the default weight was chosen.

A gold article whose text is stored under another id (the corpus repeats 57 stories under a second
id, 16 of them gold; ingest keeps one copy) is scored by the id it is stored under.

``answer@5`` is a second view: whether one of the first five articles contains an accepted answer
(normalised text), since the corpus's other articles are search results for the same quiz and often
carry the answer too.

The "engine" row is retrieval as the service runs it: ``CitewireQueryEngine.find_passages`` with the
default settings, which adds the engine's own ordering on top of hybrid + recency (passages of
articles mentioning a year the question names first; for a question about "this week" asked as of a
day, none of older articles) and at most two passages per article. The row before it is hybrid plus
the recency bonus, given to "this week"/"latest" questions and to every question asked as of its day
that names no other year. On this corpus only the gold articles carry a publication date field; the search-result
distractors get theirs from their URL (/2022/06/16/) at ingest, so 2,009 of the 2,099 articles are
dated and recency no longer favours the gold ones for an artifact of the data. A store built before
URL dates must be re-ingested (changed articles are replaced) for this row to be fair.

    python -m bench.retrieval                       # all 196 questions, ~13 min to index on first run
    python -m bench.retrieval --limit 50 --sparse-weights 0.5,1,2
    python -m bench.retrieval --with-choices        # every row again, multiple-choice options appended
    python -m bench.retrieval --as-of               # every row again, each question asked as of its day

The store is kept in ``--data-dir`` (default ~/.cache/citewire/bench/realtimeqa) and re-used: a second
run finds every article unchanged and goes straight to the queries.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.llms import MockLLM
from tqdm import tqdm

from bench.common import (
    command_line,
    format_table,
    machine_info,
    measure,
    print_header,
    settings_with,
    summarize,
    write_results,
)
from index.filters import ArticleFilter
from index.ingest import ingest_articles
from index.loaders import load_file
from index.store import ArticleStore
from service.answering.normalize import normalize_answer
from service.answering.retrieval import FusionWeights, HybridRetriever, RetrievalMode
from service.answering.rules_engine import CitewireQueryEngine, with_choices
from service.components import build_components, build_engine, configure_for_serving
from service.evaluation.dataset import EvalQuestion, load_questions
from service.evaluation.metrics import hit_at_k, ranked_articles, reciprocal_rank
from service.settings import default_cache_dir

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "realtimeqa"
DEPTH = 50  # candidates per retriever: enough chunks for 10 distinct articles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="folder with articles.jsonl, questions.jsonl")
    parser.add_argument("--data-dir", type=Path, default=default_cache_dir() / "bench" / "realtimeqa")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (default: all)")
    parser.add_argument(
        "--sparse-weights", default="1", help="comma-separated BM25 weights for hybrid rows (dense weight 1)"
    )
    parser.add_argument(
        "--with-choices",
        action="store_true",
        help="also ask every multiple-choice question with its options appended, as `citewire eval --with-choices`",
    )
    parser.add_argument(
        "--as-of",
        action="store_true",
        help="also ask every question as of its question_date (nothing later; recency counts back from it)",
    )
    args = parser.parse_args(argv)
    if not (args.eval_dir / "articles.jsonl").is_file():
        parser.error(f"{args.eval_dir} has no articles.jsonl (the shared evaluation data is not here)")
    command = command_line("bench.retrieval")
    machine = machine_info()
    print_header("retrieval: RealTime QA, gold article ids", command, machine)

    settings = settings_with(args.data_dir)
    components = build_components(settings)
    with measure() as ingest_time:
        articles = list(load_file(args.eval_dir / "articles.jsonl"))
        bar = tqdm(total=len(articles), desc="index", unit="article")
        report = ingest_articles(
            articles, components.store, components.embedder, components.chunking, lambda *_: bar.update()
        )
        bar.close()
    configure_for_serving()  # queries as the server runs them: torch on one thread
    questions = [q for q in load_questions(args.eval_dir / "questions.jsonl") if q.gold_article_ids]
    if args.limit:
        questions = questions[: args.limit]
    print(
        f"store   : {components.store.count_articles()} articles, {components.store.count_chunks()} chunks "
        f"(indexing/checking took {ingest_time.wall_s:.0f} s); {len(questions)} questions with gold articles"
    )

    configs: list[tuple[str, RetrievalMode, FusionWeights]] = [
        ("dense (MiniLM)", "dense", FusionWeights()),
        ("BM25", "sparse", FusionWeights()),
    ]
    for w in (float(x) for x in args.sparse_weights.split(",")):
        weights = FusionWeights(dense=1.0, sparse=w, k=settings.rrf_k, recency=0.0)
        configs.append((f"hybrid RRF bm25 x{w:g}", "hybrid", weights))
    defaults = FusionWeights.from_settings(settings)
    configs.append(("hybrid + recency (defaults)", "hybrid", defaults))
    engine = build_engine(components, llm=MockLLM())  # retrieval only: the model is never asked
    rows, payload = [], {}
    forms = [
        (c, d)
        for d in ([False, True] if args.as_of else [False])
        for c in ([False, True] if args.with_choices else [False])
    ]
    searchers: list[tuple[str, HybridRetriever | CitewireQueryEngine]] = [
        (label, HybridRetriever(components.index, components.store, components.embedder.model, mode, weights))
        for label, mode, weights in configs
    ]
    searchers.append(("engine (the service's find_passages)", engine))
    for (label, retriever), (ask_choices, dated) in [(c, f) for f in forms for c in searchers]:
        label += ", with choices" if ask_choices else ""
        label += ", as of its day" if dated else ""
        _ranked_ids(retriever, "warm-up question about the news", None, "")
        scores = score_retriever(retriever, questions, label, components.store, report.duplicate_of, ask_choices, dated)
        metrics = ("hit@1", "hit@5", "hit@10", "mrr@10", "answer@5")
        rows.append([label, *(scores[m] for m in metrics), *scores["latency"]])
        payload[label] = scores
    dense_hit5 = rows[0][2]  # columns: label, hit@1, hit@5, ...
    print()
    print(
        format_table(
            ["retriever", "hit@1", "hit@5", "hit@10", "MRR@10", "answer@5", "p50 ms", "p95 ms", "hit@5 / dense"],
            [[*r, r[2] / dense_hit5 if dense_hit5 else None] for r in rows],
        )
    )
    path = write_results(
        "retrieval",
        command,
        machine,
        {
            "store": {"articles": components.store.count_articles(), "chunks": components.store.count_chunks()},
            "questions": len(questions),
            "depth": DEPTH,
            "results": payload,
        },
    )
    print(f"\nresults : {path}")
    return 0


def _ranked_ids(
    retriever: HybridRetriever | CitewireQueryEngine, asked: str, where: ArticleFilter | None, question: str
) -> list[str]:
    """The article ids of the chunks found, best first (an article once per chunk)."""
    if isinstance(retriever, CitewireQueryEngine):
        return [p.article.article.id for p in retriever.find_passages(asked, DEPTH, where, anchor=question)]
    return [str(c.node.metadata["article_id"]) for c in retriever.candidates(asked, DEPTH, where)]


def score_retriever(
    retriever: HybridRetriever | CitewireQueryEngine,
    questions: Sequence[EvalQuestion],
    label: str,
    store: ArticleStore,
    stored_as: dict[str, str],
    ask_choices: bool = False,
    dated: bool = False,
) -> dict[str, Any]:
    """``stored_as`` maps an article stored under another id (the same text, kept once) to that id:
    finding the twin is finding the gold article. ``dated``: ask as of the question's day, if it has one."""
    hits: dict[int, list[bool]] = {1: [], 5: [], 10: []}
    answer_hits: list[bool] = []
    rr: list[float] = []
    latency: list[float] = []
    for q in tqdm(questions, desc=label, unit="q"):
        started = time.perf_counter()
        where = ArticleFilter(as_of=q.as_of) if dated and q.as_of else None
        asked = with_choices(q.question, q.choices or () if ask_choices else ())
        found = _ranked_ids(retriever, asked, where, q.question)
        latency.append((time.perf_counter() - started) * 1000)
        ranked = ranked_articles(found)
        gold = [stored_as.get(g, g) for g in q.gold_article_ids]
        for k in hits:
            hits[k].append(bool(hit_at_k(ranked, gold, k)))
        rr.append(reciprocal_rank(ranked, gold) or 0.0)
        answers = [f" {a} " for a in map(normalize_answer, q.answers) if a]
        texts = [f" {normalize_answer(s.article.text)} " for s in store.get_many(ranked[:5]).values()]
        answer_hits.append(any(a in t for a in answers for t in texts))
    n = len(questions) or 1
    lat = summarize(latency)
    return {
        **{f"hit@{k}": round(sum(v) / n, 3) for k, v in hits.items()},
        "mrr@10": round(sum(rr) / n, 3),
        "answer@5": round(sum(answer_hits) / n, 3),
        "latency": [lat["p50"], lat["p95"]],
        "latency_ms": lat,
        "reciprocal_ranks": [round(r, 4) for r in rr],  # per question, in order: for paired comparisons
    }


if __name__ == "__main__":
    raise SystemExit(main())
