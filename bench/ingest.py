"""Ingest throughput: how close Citewire's pipeline comes to the embedder's own encode rate, and how it
compares with LlamaIndex's stock pipeline.

Embedding dominates ingest on a CPU, so the bare encode rate of the same chunks is the ceiling; the
ratio of the full pipeline (chunking, embedding, Chroma writes) to it shows what Citewire's own steps
cost. A re-ingest of the same articles must be near-instant: every article is already stored. The
stock pipeline is ``VectorStoreIndex.from_documents`` into a Chroma collection with the same embedder
and the same articles, once with its default splitter (1,024-token chunks, which MiniLM truncates to
256 word pieces) and once with chunks of Citewire's size, so articles/s compare like for like.

    python -m bench.ingest [--articles N] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import (
    CONTENDED_CORES,
    REPO_ROOT,
    Measurement,
    command_line,
    format_table,
    load_average,
    machine_info,
    measure,
    print_header,
    settings_with,
    write_results,
)
from index.articles import Article, chunk_search_text
from index.chunking import Chunk, TokenCounter, chunk_text
from index.ingest import IngestReport, Outcome, ingest_articles
from index.loaders import ArticleFormatError, article_from_record, collect_files, load_file
from service.components import Components, build_components
from service.settings import Settings

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa/articles.jsonl"
SEEDS = REPO_ROOT / "seeds"


def load_corpus(corpus: Path, n: int) -> tuple[list[Article], str]:
    """The first ``n`` readable articles of a .jsonl file, or seeds/ repeated when the file is absent.

    Returns the articles and a line saying where they came from. Records that fail to load are
    skipped (and counted), as the CLI would skip them.
    """
    if corpus.is_file():
        articles: list[Article] = []
        skipped = 0
        with corpus.open(encoding="utf-8") as fh:
            for line in fh:
                if len(articles) >= n:
                    break
                if not line.strip():
                    continue
                try:
                    articles.append(article_from_record(json.loads(line)))
                except (ValueError, ArticleFormatError):
                    skipped += 1
        note = f"{corpus} (first {len(articles)} articles" + (f", {skipped} unreadable skipped)" if skipped else ")")
        return articles, note
    seeds = [a for path in collect_files([SEEDS]) for a in load_file(path)]
    if not seeds:
        raise SystemExit(f"error: {corpus} is absent and {SEEDS} has no articles")
    # Same text under distinct ids: every copy is a new article to the store, with identical chunks.
    repeated = [
        dataclasses.replace(seeds[i % len(seeds)], id=f"{seeds[i % len(seeds)].id}-copy{i:04d}") for i in range(n)
    ]
    note = f"FALLBACK: {corpus} not found; using {len(seeds)} seed article(s) from {SEEDS} repeated to {n} distinct ids"
    return repeated, note


def chunk_all(articles: Sequence[Article], counter: TokenCounter, settings: Settings) -> list[tuple[Article, Chunk]]:
    """Every chunk of every article, chunked exactly as ingest does (same tokenizer and sizes)."""
    return [
        (article, chunk)
        for article in articles
        for chunk in chunk_text(article.text, counter, settings.chunk_tokens, settings.chunk_overlap_tokens)
    ]


def run_pipeline(articles: Sequence[Article], components: Components, desc: str) -> tuple[IngestReport, Measurement]:
    """``ingest_articles`` as the CLI runs it, with a progress bar fed by its per-article callback."""
    with tqdm(total=len(articles), desc=desc, unit="article") as bar:

        def progress(_article: Article, _outcome: Outcome) -> None:
            bar.update()

        with measure() as m:
            report = ingest_articles(articles, components.store, components.embedder, components.chunking, progress)
    return report, m


class _StoreTimer:
    """Wraps the store's two calls made by ingest to split pipeline time into store vs. the rest.

    Only the bound methods on this one store instance are wrapped; the cost is one extra Python
    call per window, microseconds against seconds of embedding.
    """

    def __init__(self, store: Any) -> None:
        self.seconds = {"lookup": 0.0, "write_many": 0.0}
        for name in self.seconds:
            setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started

        return wrapper


def run_stock(
    articles: Sequence[Article], embed_model: Any, chroma_dir: Path, chunking: tuple[int, int] | None
) -> tuple[Measurement, int]:
    """``VectorStoreIndex.from_documents`` as LlamaIndex's docs show it, into a fresh Chroma collection.

    ``chunking`` None keeps the stock SentenceSplitter; (tokens, overlap) sizes it like Citewire's
    chunks (in the splitter's own tokenizer). Returns the time and the number of chunks embedded.
    """
    import chromadb
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import TransformComponent
    from llama_index.vector_stores.chroma import ChromaVectorStore

    documents = [
        Document(text=a.text, metadata={"title": a.title, "source": a.source or "", "article_id": a.id})
        for a in articles
    ]
    transformations: list[TransformComponent] | None = (
        [SentenceSplitter(chunk_size=chunking[0], chunk_overlap=chunking[1])] if chunking else None
    )
    collection = chromadb.PersistentClient(path=str(chroma_dir)).get_or_create_collection("stock")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    label = "stock" if chunking is None else "stock, sized"
    with measure() as m:
        VectorStoreIndex.from_documents(
            documents,
            storage_context=storage,
            embed_model=embed_model,
            transformations=transformations,
            show_progress=True,
        )
    print(f"{label}: {collection.count()} chunks")
    return m, collection.count()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200, help="how many articles to ingest (default 200)")
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help=f"a .jsonl of articles (default {DEFAULT_CORPUS})"
    )
    args = parser.parse_args(argv)
    if args.articles < 1:
        parser.error("--articles must be at least 1")

    command = command_line("bench.ingest")
    machine = machine_info()
    print_header("Citewire ingest throughput", command, machine)

    articles, corpus_note = load_corpus(args.corpus, args.articles)
    print(f"corpus  : {corpus_note}")
    if not articles:
        raise SystemExit("error: no articles loaded")

    with tempfile.TemporaryDirectory(prefix="citewire-bench-ingest-") as tmp:
        settings = settings_with(Path(tmp))
        with measure() as load:
            components = build_components(settings)
        embedder = components.embedder
        print(
            f"settings: embed_model={settings.embed_model} (dim {embedder.dim}), batch {settings.embed_batch_size}, "
            f"chunks of {settings.chunk_tokens} tokens with {settings.chunk_overlap_tokens} overlap; "
            f"embedder loaded in {load.wall_s:.1f} s"
        )
        # One small batch first, so neither timed stage pays lazy initialisation.
        embedder.model.get_text_embedding_batch(["warm-up sentence one.", "warm-up sentence two."])

        # (a) the ceiling: the same chunks, the same texts, one call to the embedder.
        with measure() as chunking:
            pairs = chunk_all(articles, embedder.counter, settings)
        texts = [chunk_search_text(article.title, chunk.text) for article, chunk in pairs]
        with measure() as encode:
            embedder.model.get_text_embedding_batch(texts, show_progress=True)

        # (b) the full pipeline into a fresh on-disk Chroma; (c) the same articles again.
        store_timer = _StoreTimer(components.store)
        report, pipeline = run_pipeline(articles, components, "ingest")
        store_s = dict(store_timer.seconds)
        again, reingest = run_pipeline(articles, components, "re-ingest")
        stored_chunks = components.store.count_chunks()
        stored_articles = components.store.count_articles()

        # (d, e) LlamaIndex's stock pipeline, same embedder, same articles, a fresh Chroma each.
        stock_default, stock_default_chunks = run_stock(articles, embedder.model, Path(tmp) / "stock-a", None)
        stock_sized, stock_sized_chunks = run_stock(
            articles, embedder.model, Path(tmp) / "stock-b", (settings.chunk_tokens, settings.chunk_overlap_tokens)
        )

    n_articles, n_chunks = len(articles), len(pairs)
    encode_rate = n_chunks / encode.wall_s
    created = report.count(Outcome.CREATED)
    unchanged_again = again.count(Outcome.UNCHANGED)

    def row(stage: str, chunks: int | None, m: Measurement, *, vs_encode: bool = True) -> dict[str, Any]:
        rate = chunks / m.wall_s if chunks else None
        return {
            "stage": stage,
            "articles": n_articles,
            "chunks": chunks,
            "seconds": round(m.wall_s, 3),
            "chunks_per_s": round(rate, 2) if rate is not None else None,
            "articles_per_s": round(n_articles / m.wall_s, 2),
            "ratio_vs_bare_encode": round(rate / encode_rate, 3) if rate is not None and vs_encode else None,
            "cpu_s": round(m.cpu_s, 2),
            "others_cores": None if m.others_cores is None else round(m.others_cores, 2),
        }

    rows = [
        row("chunk_text only", n_chunks, chunking, vs_encode=False),  # a part of (b), not a rival to it
        row("(a) bare encode", n_chunks, encode),
        row("(b) full pipeline", report.chunks_written, pipeline),
        row("(c) re-ingest", None, reingest),
        row("(d) stock, default splitter", stock_default_chunks, stock_default),
        row("(e) stock, same chunk size", stock_sized_chunks, stock_sized),
    ]
    keys = ["stage", "articles", "chunks", "seconds", "chunks_per_s", "articles_per_s", "ratio_vs_bare_encode"]
    headers = ["stage", "articles", "chunks", "seconds", "chunks/s", "articles/s", "ratio vs bare encode"]
    print()
    print(format_table([*headers, "cpu s", "others"], [[r[k] for k in [*keys, "cpu_s", "others_cores"]] for r in rows]))
    print(
        "(cpu s: this process's CPU time, all threads; others: average cores busy with OTHER processes "
        "during the stage, ~0 = clean)"
    )
    rest_s = pipeline.wall_s - store_s["write_many"] - store_s["lookup"]
    print()
    print(
        f"articles/s vs stock: {stock_default.wall_s / pipeline.wall_s:.2f}x the default stock pipeline, "
        f"{stock_sized.wall_s / pipeline.wall_s:.2f}x the stock pipeline with the same chunk size"
    )
    print(
        f"pipeline split: store.write_many {store_s['write_many']:.2f} s (in the writer thread), "
        f"store.lookup {store_s['lookup']:.2f} s, "
        f"chunk+embed+rest {rest_s:.2f} s (of which chunk_text ~{chunking.wall_s:.2f} s, measured above)"
    )
    print(
        f"outcomes: first run {created}/{n_articles} created; re-ingest {unchanged_again}/{n_articles} unchanged; "
        f"store holds {stored_articles} articles, {stored_chunks} chunks"
    )
    problems = []
    if report.chunks_written != n_chunks:
        problems.append(f"pipeline wrote {report.chunks_written} chunks but chunk_text made {n_chunks}")
    if unchanged_again != n_articles:
        problems.append(f"re-ingest changed {n_articles - unchanged_again} article(s): expected all unchanged")
    if created != n_articles:
        problems.append(f"first run created {created} of {n_articles} (duplicate ids in the corpus?)")
    stages = (chunking, encode, pipeline, reingest, stock_default, stock_sized)
    contended = [r["stage"] for r, m in zip(rows, stages, strict=True) if m.contended]
    if contended:
        problems.append(
            f"other processes used over {CONTENDED_CORES} cores during: {', '.join(contended)}; "
            "those timings (and ratios) are not clean, run again on a quiet machine"
        )
    for problem in problems:
        print(f"WARNING: {problem}")
    print(f"load avg: {' '.join(str(x) for x in load_average())} (1/5/15 min) at end")

    path = write_results(
        "ingest",
        command,
        machine,
        {
            "corpus": corpus_note,
            "settings": {
                "embed_model": settings.embed_model,
                "embed_batch_size": settings.embed_batch_size,
                "chunk_tokens": settings.chunk_tokens,
                "chunk_overlap_tokens": settings.chunk_overlap_tokens,
            },
            "embedder_load_seconds": round(load.wall_s, 3),
            "stages": rows,
            "pipeline_split_seconds": {
                "store_write": round(store_s["write_many"], 3),
                "store_lookup": round(store_s["lookup"], 3),
                "rest": round(rest_s, 3),
            },
            "outcomes": {"first_created": created, "reingest_unchanged": unchanged_again},
            "problems": problems,
        },
    )
    print(f"results : {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
