"""Retrieval latency as the store grows: dense, BM25 and hybrid at 10k and 100k chunks.

The chunks are synthetic (so the sizes are reachable in minutes on 2 cores): each "article" has 10
chunks of ~60 words drawn from a Zipf-like vocabulary of real English words, with random unit
vectors as embeddings (the vector search's cost does not depend on what the vectors mean). The
questions are real sentences embedded with the real MiniLM. Written through ``ArticleStore`` like any
ingest, so Chroma and the BM25 index hold exactly what they would in use.

    python -m bench.scale                    # 10,000 and 100,000 chunks
    python -m bench.scale --sizes 10000      # one size
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.common import command_line, format_table, machine_info, print_header, settings_with, summarize, write_results
from index.articles import Article
from index.chunking import Chunk
from service.answering.retrieval import HybridRetriever, RetrievalMode
from service.components import build_components, configure_for_serving

CHUNKS_PER_ARTICLE = 10
WORDS_PER_CHUNK = 60
QUERIES = [
    "Which automaker recalled 2.9 million vehicles this week?",
    "What did the central bank decide about interest rates?",
    "Who won the election for governor?",
    "How many people were hurt in the storm?",
    "Which company reported record quarterly revenue?",
    "What did the court rule about the merger?",
    "Where did the earthquake strike?",
    "Why were flights cancelled at the airport?",
]
ITERATIONS = 3  # passes over the questions per mode


def _vocabulary() -> list[str]:
    """News words to build text from; drawn Zipf-like, so BM25 sees common and rare terms."""
    words = (
        "government minister election court bank market company shares price rate inflation storm flood "
        "fire police officer city state country president report revenue quarter growth trade deal talks "
        "vaccine hospital patients study school students teacher team match season player coach league "
        "airport flight airline train road bridge energy oil gas power plant climate weather rain snow "
        "heat summer winter spring autumn museum film music album festival award prize winner judge law "
        "vote voters party senate house budget tax debt loan bond investor profit loss merger deal border "
        "army troops war peace treaty summit leader protest strike union workers wages jobs factory car "
        "recall vehicles safety brake engine battery software data privacy cyber attack hackers network"
    ).split()
    return words


def synthetic_articles(
    n_chunks: int, first_id: int, dim: int, rng: np.random.Generator
) -> list[tuple[Article, list[Chunk], np.ndarray]]:
    vocab = _vocabulary()
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    items = []
    for a in range(first_id, first_id + n_chunks // CHUNKS_PER_ARTICLE):
        pieces, chunks, pos = [], [], 0
        for c in range(CHUNKS_PER_ARTICLE):
            text = " ".join(rng.choice(vocab, size=WORDS_PER_CHUNK, p=weights)) + f" item{a}x{c}."
            chunks.append(Chunk(index=c, start=pos, end=pos + len(text), text=text, n_tokens=WORDS_PER_CHUNK + 2))
            pieces.append(text)
            pos += len(text) + 1
        vectors = rng.normal(size=(CHUNKS_PER_ARTICLE, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        article = Article(id=f"syn-{a:06d}", title=f"Synthetic report {a}", text=" ".join(pieces), source="bench")
        items.append((article, chunks, vectors))
    return items


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts (default 10000,100000)")
    args = parser.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    command = command_line("bench.scale")
    machine = machine_info()
    print_header("retrieval latency by store size (synthetic chunks, real MiniLM queries)", command, machine)
    rng = np.random.default_rng(0)
    rows, payload = [], {}
    with tempfile.TemporaryDirectory(prefix="citewire-scale-") as tmp:
        components = build_components(settings_with(Path(tmp)))
        configure_for_serving()
        written = 0
        for size in sizes:
            # New ids continue after the last size's: re-using them would replace articles, not add.
            items = synthetic_articles(size - written, written // CHUNKS_PER_ARTICLE, components.embedder.dim, rng)
            started = time.perf_counter()
            for article, chunks, vectors in tqdm(items, desc=f"write to {size:,}", unit="article"):
                components.store.write(article, chunks, vectors.tolist())
            components.store.flush()
            write_s = time.perf_counter() - started
            written = components.store.count_chunks()
            modes: tuple[RetrievalMode, ...] = ("dense", "sparse", "hybrid")
            for mode in modes:
                retriever = HybridRetriever(components.index, components.store, components.embedder.model, mode)
                retriever.candidates("warm-up", 20)
                latencies = []
                for _ in range(ITERATIONS):
                    for q in QUERIES:
                        t = time.perf_counter()
                        retriever.candidates(q, 20)
                        latencies.append((time.perf_counter() - t) * 1000)
                stats = summarize(latencies)
                rows.append([f"{written:,} chunks, {mode}", stats["p50"], stats["p95"], stats["n"]])
                payload[f"{written}:{mode}"] = {"chunks": written, "write_s": round(write_s, 1), "latency_ms": stats}
    print()
    print(format_table(["store and retriever", "p50 ms", "p95 ms", "queries"], rows))
    path = write_results("scale", command, machine, {"results": payload})
    print(f"\nresults : {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
