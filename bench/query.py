"""Query latency: where the time of one answer goes (retrieval vs. generation), as the server runs it.

The seed article is indexed into a temporary store, the engine is built once after the same
process set-up as the server, and a fixed list of questions is answered; two of them the article
cannot answer, so abstentions are measured too. A retrieval-only loop isolates the non-LLM part.

    python -m bench.query [--questions N] [--llm-model default|fast|tiny] [--answerer rules|evidence] [--repeat R]
        [--context-tokens N]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
from pydantic import Field
from tqdm import tqdm

from bench.common import (
    CONTENDED_CORES,
    MIN_WALL_FOR_OTHERS_S,
    REPO_ROOT,
    command_line,
    format_table,
    load_average,
    machine_info,
    measure,
    print_header,
    settings_with,
    summarize,
    write_results,
)
from service.llm.backends import usage_of

SEEDS = REPO_ROOT / "seeds"
RETRIEVAL_ITERATIONS = 50


class UsageRecorder(BaseEventHandler):
    """Token counts of each LLM chat, from LlamaIndex's instrumentation events.

    Generation time is mostly answer length; the counts say whether a slow call was a long answer
    or a slow model, without touching the engine.
    """

    calls: list[tuple[int | None, int | None]] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "BenchUsageRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, LLMChatEndEvent) and event.response is not None:
            self.calls.append(usage_of(event.response))


@dataclass(frozen=True)
class Question:
    text: str
    answerable: bool


# About seeds/000_070c77320a5da855.txt (the White House memo on Alibaba, FT, November 2025).
# The two unanswerable ones are interleaved so that a short --questions run still has one: one far
# off-topic (expected to abstain at the relevance gate, no generation) and one on-topic whose answer
# is not in the article (the model is called and should decline).
QUESTIONS: tuple[Question, ...] = (
    Question("What does the White House memo accuse Alibaba of?", True),
    Question("Which newspaper reviewed the White House memo about Alibaba?", True),
    Question("Who won the 2022 FIFA World Cup final?", False),
    Question("What customer data did Alibaba allegedly give the Chinese government and military?", True),
    Question("How did Alibaba respond to the claims in the memo?", True),
    Question("Which leader did Donald Trump meet in South Korea before the memo appeared?", True),
    Question("How many Chinese companies did American politicians urge the White House to shut out?", True),
    Question("How much revenue did Alibaba report for its latest quarter?", False),
)
# Not in the list: warming up with a measured question would leave its whole prompt in llama.cpp's
# cache, and that question's next answer would skip prefill entirely.
WARMUP_QUESTION = "How did the Chinese Embassy in Washington react to the FT report?"


def answer_streamed(engine: Any, question: str) -> tuple[Any, float | None]:
    """The answer as the server streams it, and the time from the question to the first generated
    piece (None when the relevance gate answered without the model): what a streaming client waits."""
    from service.answering.types import Answer

    started = time.perf_counter()
    draft = engine.draft(question)
    if isinstance(draft, Answer):
        return draft, None
    generate_started = time.perf_counter()
    pieces: list[str] = []
    first: float | None = None
    for piece in engine.generate(draft):
        if first is None:
            first = (time.perf_counter() - started) * 1000
        pieces.append(piece)
    return engine.finish(draft, "".join(pieces), (time.perf_counter() - generate_started) * 1000), first


def load_seeds() -> list[Any]:
    from index.loaders import collect_files, load_file

    return [article for path in collect_files([SEEDS]) for article in load_file(path)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions",
        type=int,
        default=len(QUESTIONS),
        help=f"use the first N questions (default all {len(QUESTIONS)})",
    )
    parser.add_argument("--llm-model", default="default", help="llama.cpp profile: default, fast or tiny (or a .gguf)")
    parser.add_argument("--answerer", choices=["rules", "evidence"], default="rules", help="the engine to time")
    parser.add_argument(
        "--context-tokens",
        type=int,
        default=None,
        help="token budget of the passages in the prompt (default: CITEWIRE_CONTEXT_TOKENS or 640)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="times to run the question list (default 1)")
    args = parser.parse_args(argv)
    if not 1 <= args.questions <= len(QUESTIONS):
        parser.error(f"--questions must be between 1 and {len(QUESTIONS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from index.ingest import ingest_articles
    from service.components import build_components, build_engine, configure_for_serving

    configure_for_serving()  # torch on one thread, as in the server (the machine line below shows it)
    command = command_line("bench.query")
    machine = machine_info()
    print_header("Citewire query latency", command, machine)
    questions = QUESTIONS[: args.questions]

    with tempfile.TemporaryDirectory(prefix="citewire-bench-query-") as tmp:
        overrides = {"context_tokens": args.context_tokens} if args.context_tokens else {}
        # No answer cache: a question asked again in another repeat must be answered again to be timed.
        settings = settings_with(
            Path(tmp), llm_model=args.llm_model, answerer=args.answerer, answer_cache_size=0, **overrides
        )
        started = time.perf_counter()
        components = build_components(settings)
        seeds = load_seeds()
        report = ingest_articles(seeds, components.store, components.embedder, components.chunking)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        engine = build_engine(components)
        llm_load_s = time.perf_counter() - started
        model_name = engine.llm.metadata.model_name
        print(
            f"setup   : {len(seeds)} seed article(s), {report.chunks_written} chunks indexed in {ingest_s:.1f} s "
            f"(incl. embedder load); LLM {model_name} loaded in {llm_load_s:.1f} s, "
            f"{settings.llm_threads} threads, top_k {settings.top_k}, context {settings.context_tokens} tokens, "
            f"max {settings.max_answer_tokens} answer tokens"
        )

        usage = UsageRecorder()
        get_dispatcher().add_event_handler(usage)
        # The first call pays the prompt's full prefill and pages the weights in; it is kept apart.
        warm = engine.answer(WARMUP_QUESTION)
        runs: list[dict[str, Any]] = []
        with measure() as answer_loop, tqdm(total=len(questions) * args.repeat, desc="answer", unit="question") as bar:
            for repeat in range(args.repeat):
                for q in questions:
                    usage.calls.clear()
                    with measure() as m:
                        answer, first_token_ms = answer_streamed(engine, q.text)
                    # The answer is the question's first model call; the claim judge's calls follow it.
                    prompt_tokens, completion_tokens = usage.calls[0] if usage.calls else (None, None)
                    runs.append(
                        {
                            "repeat": repeat,
                            "question": q.text,
                            "answerable": q.answerable,
                            "abstained": answer.abstained,
                            "generated": answer.timings_ms["generate"] > 0,
                            "citations": len(answer.citations),
                            "timings_ms": dict(answer.timings_ms),
                            "first_token_ms": _round(first_token_ms),
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "judge_calls": max(0, len(usage.calls) - 1),
                            "others_cores": _round(m.others_cores),
                            "answer": answer.text,
                        }
                    )
                    bar.update()

        retrieval_ms: list[float] = []
        cycle = itertools.cycle(q.text for q in questions)
        with measure() as retrieval_loop:
            for _ in tqdm(range(RETRIEVAL_ITERATIONS), desc="find_passages", unit="call"):
                t0 = time.perf_counter()
                engine.find_passages(next(cycle))
                retrieval_ms.append((time.perf_counter() - t0) * 1000)
            # The query embedding alone: the part of retrieval that torch's thread count affects.
            embed_ms: list[float] = []
            for _ in range(RETRIEVAL_ITERATIONS):
                t0 = time.perf_counter()
                components.embedder.model.get_query_embedding(next(cycle))
                embed_ms.append((time.perf_counter() - t0) * 1000)

    retrieve = summarize([r["timings_ms"]["retrieve"] for r in runs])
    generate = summarize([r["timings_ms"]["generate"] for r in runs if r["generated"]])
    total = summarize([r["timings_ms"]["total"] for r in runs])
    first_token = summarize([r["first_token_ms"] for r in runs if r["first_token_ms"] is not None])
    retrieval_only = summarize(retrieval_ms)
    # Answer tokens per second of generate time (prefill included): comparable across answer lengths.
    token_rates = [
        r["completion_tokens"] / (r["timings_ms"]["generate"] / 1000)
        for r in runs
        if r["generated"] and r["completion_tokens"]
    ]
    answer_tokens = summarize([r["completion_tokens"] for r in runs if r["generated"] and r["completion_tokens"]])
    abstained = sum(r["abstained"] for r in runs)
    gated = sum(r["abstained"] and not r["generated"] for r in runs)

    print()
    print("per question (first repeat):")
    print(
        format_table(
            ["question", "answerable", "outcome", "retrieve ms", "generate ms", "total ms", "tokens in/out", "others"],
            [
                [
                    _short(r["question"], 60),
                    "yes" if r["answerable"] else "no",
                    _outcome(r),
                    r["timings_ms"]["retrieve"],
                    r["timings_ms"]["generate"] if r["generated"] else None,
                    r["timings_ms"]["total"],
                    f"{r['prompt_tokens']}/{r['completion_tokens']}" if r["generated"] else None,
                    r["others_cores"],
                ]
                for r in runs
                if r["repeat"] == 0
            ],
        )
    )
    print()
    print(f"summary over {len(runs)} calls ({len(questions)} questions x {args.repeat} repeat(s)), warm-up excluded:")
    stats = {
        "retrieve ms": retrieve,
        "generate ms": generate,
        "first token ms (from the question)": first_token,
        "total ms": total,
        f"find_passages ms (x{RETRIEVAL_ITERATIONS})": retrieval_only,
        f"  query embedding ms (x{RETRIEVAL_ITERATIONS})": summarize(embed_ms),
        "answer tokens": answer_tokens,
        "answer tokens/s": summarize(token_rates),
    }
    print(
        format_table(
            ["metric", "n", "p50", "p95", "mean", "min", "max"],
            [[name, s["n"], s["p50"], s["p95"], s["mean"], s["min"], s["max"]] for name, s in stats.items()],
        )
    )
    print()
    print(
        f"warm-up : {WARMUP_QUESTION!r} retrieve {warm.timings_ms['retrieve']:.0f} ms, "
        f"generate {warm.timings_ms['generate']:.0f} ms, total {warm.timings_ms['total']:.0f} ms (not in the summary)"
    )
    print(
        f"abstained: {abstained}/{len(runs)} ({gated} at the relevance gate without generation, "
        f"{abstained - gated} after generation); generate stats cover the {generate['n']} calls that ran the model"
    )
    answerable_abstained = sum(r["abstained"] and r["answerable"] for r in runs)
    unanswerable_answered = sum(not r["abstained"] and not r["answerable"] for r in runs)
    if answerable_abstained or unanswerable_answered:
        print(
            f"note    : {answerable_abstained} answerable question(s) abstained, "
            f"{unanswerable_answered} unanswerable one(s) answered (quality is not this benchmark's subject)"
        )
    print(
        f"others  : other processes used {_cores(answer_loop.others_cores)} cores on average during the answer loop, "
        f"{_cores(retrieval_loop.others_cores)} during the find_passages loop (~0 = clean; per call in the table, "
        f"'-' for calls under {MIN_WALL_FOR_OTHERS_S} s)"
    )
    contended = [r for r in runs if r["others_cores"] is not None and r["others_cores"] > CONTENDED_CORES]
    if contended or answer_loop.contended or retrieval_loop.contended:
        print(
            f"WARNING : other processes used over {CONTENDED_CORES} cores during {len(contended)}/{len(runs)} answers"
            + (" and the find_passages loop" if retrieval_loop.contended else "")
            + "; llama.cpp slows down sharply when a core is taken, run again on a quiet machine"
        )
    print("percentiles: numpy.percentile, linear interpolation (= statistics.quantiles method='inclusive')")
    print(f"load avg: {' '.join(str(x) for x in load_average())} (1/5/15 min) at end")

    path = write_results(
        "query",
        command,
        machine,
        {
            "settings": {
                "llm_model": settings.llm_model,
                "llm_file": model_name,
                "llm_threads": settings.llm_threads,
                "llm_context_tokens": settings.llm_context_tokens,
                "top_k": settings.top_k,
                "context_tokens": settings.context_tokens,
                "min_relevance": engine.min_relevance,
                "max_answer_tokens": settings.max_answer_tokens,
                "embed_model": settings.embed_model,
            },
            "setup_seconds": {"index_seeds": round(ingest_s, 3), "llm_load": round(llm_load_s, 3)},
            "percentile_method": "numpy.percentile, linear interpolation",
            "warmup": {"question": WARMUP_QUESTION, "timings_ms": dict(warm.timings_ms), "abstained": warm.abstained},
            "summary_ms": stats,
            "abstained": {"total": abstained, "at_gate": gated, "after_generation": abstained - gated},
            "runs": runs,
            "find_passages_ms": [round(x, 2) for x in retrieval_ms],
            "query_embedding_ms": [round(x, 2) for x in embed_ms],
            "others_cores": {
                "answer_loop": _round(answer_loop.others_cores),
                "find_passages_loop": _round(retrieval_loop.others_cores),
            },
        },
    )
    print(f"results : {path}")
    return 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _cores(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _outcome(run: dict[str, Any]) -> str:
    if not run["abstained"]:
        return f"answered [{run['citations']} cit.]"
    return "abstained (gate)" if not run["generated"] else "abstained (model)"


if __name__ == "__main__":
    raise SystemExit(main())
