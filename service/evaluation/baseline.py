"""The comparison point: LlamaIndex's stock ``CitationQueryEngine``, kept stock on purpose, over the same articles.

It measures what Citewire adds to the textbook recipe: default in-memory index, node parser and prompt, the same
embedder, no relevance gate, verification or re-ranking; only a question's as-of day applies, as it does for Citewire.
Its ``[n]`` markers name source nodes (one naming none is unresolved) and its quotes are located in the article text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from llama_index.core import Settings as LlamaSettings
from llama_index.core import VectorStoreIndex
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import LLM
from llama_index.core.query_engine import CitationQueryEngine
from llama_index.core.schema import BaseNode, Document, MetadataMode, NodeWithScore, QueryBundle

from index.articles import Article
from index.filters import ArticleFilter, stored_day
from index.store import ArticleStore
from service.answering.checks.citations import looks_like_refusal
from service.answering.rules_engine import with_choices
from service.evaluation import EngineOutput

# For filters and citations only: neither embedded nor shown to the LLM, so the comparison is about the text.
_HIDDEN_METADATA = ["article_id", "title", "published_day"]
_SOURCE_LABEL = re.compile(r"^Source \d+:\n")
_MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")
_EMBED_BATCH = 64
_FETCH_BATCH = 256

ProgressFn = Callable[[int, int], None]  # (chunks embedded so far, total chunks)


def stored_articles(store: ArticleStore) -> list[Article]:
    """Every stored article with its full text (``store.list()`` leaves texts out)."""
    ids = sorted(s.article.id for s in store.list())
    articles: list[Article] = []
    for i in range(0, len(ids), _FETCH_BATCH):
        got = store.get_many(ids[i : i + _FETCH_BATCH])
        articles.extend(got[a].article for a in ids[i : i + _FETCH_BATCH] if a in got)
    return articles


def build_baseline_index(
    articles: Sequence[Article], embed_model: Any, on_progress: ProgressFn | None = None
) -> VectorStoreIndex:
    """A default in-memory VectorStoreIndex; equal to ``from_documents`` but embedding in batches we can report."""
    documents = [
        Document(
            id_=a.id,
            text=a.text,
            metadata={"article_id": a.id, "title": a.title, "published_day": stored_day(a.published_at)},
            excluded_embed_metadata_keys=list(_HIDDEN_METADATA),
            excluded_llm_metadata_keys=list(_HIDDEN_METADATA),
        )
        for a in articles
    ]
    nodes: list[BaseNode] = list(LlamaSettings.node_parser.get_nodes_from_documents(documents))
    # VectorStoreIndex embeds only nodes without an embedding, with this same text: doing it here
    # changes nothing but lets a progress bar follow the slow part.
    for i in range(0, len(nodes), _EMBED_BATCH):
        batch = nodes[i : i + _EMBED_BATCH]
        vectors = embed_model.get_text_embedding_batch([n.get_content(metadata_mode=MetadataMode.EMBED) for n in batch])
        for node, vector in zip(batch, vectors, strict=True):
            node.embedding = vector
        if on_progress is not None:
            on_progress(i + len(batch), len(nodes))
    return VectorStoreIndex(nodes, embed_model=embed_model)


class BaselineEngine:
    """Answers through the stock CitationQueryEngine and reports in the results file's shapes."""

    name = "baseline"

    def __init__(
        self,
        articles: Sequence[Article],
        embed_model: Any,
        llm: LLM,
        top_k: int,
        rank_depth: int,
        on_progress: ProgressFn | None = None,
    ) -> None:
        self.articles = {a.id: a for a in articles}
        self.index = build_baseline_index(articles, embed_model, on_progress)
        self.llm = llm
        self.top_k = top_k
        self.rank_depth = rank_depth

    def ask(self, question: str, choices: Sequence[str] = (), as_of: date | None = None) -> EngineOutput:
        bundle = QueryBundle(query_str=with_choices(question, choices))  # the stock engine has no other way
        filters = ArticleFilter(as_of=as_of).metadata_filters() if as_of is not None else None
        # Built per question only to pass the day's filter; from_args does no indexing.
        engine = CitationQueryEngine.from_args(self.index, llm=self.llm, similarity_top_k=self.top_k, filters=filters)
        started = time.perf_counter()
        nodes = engine.retrieve(bundle)
        retrieved_at = time.perf_counter()
        response = engine.synthesize(bundle, nodes)
        done = time.perf_counter()
        if not isinstance(response, Response):  # only streaming or structured output would differ
            raise TypeError(f"expected a plain Response from CitationQueryEngine, got {type(response).__name__}")
        answer = str(response.response or "").strip()
        sources = list(response.source_nodes)
        citations, unresolved = self._citations(answer, sources, nodes)
        ranking = self.index.as_retriever(similarity_top_k=self.rank_depth, filters=filters).retrieve(bundle)
        return EngineOutput(
            answer=answer,
            abstained=not answer or looks_like_refusal(answer),
            citations=citations,
            context=[_ranked(n) for n in nodes],
            retrieved=[_ranked(n) for n in ranking],
            timings_ms={
                "retrieve": round((retrieved_at - started) * 1000, 2),
                "generate": round((done - retrieved_at) * 1000, 2),
                "verify": 0.0,  # the stock engine does not check its answers
                "total": round((done - started) * 1000, 2),
            },
            unresolved_markers=unresolved,
        )

    def _citations(
        self, answer: str, sources: Sequence[NodeWithScore], retrieved: Sequence[NodeWithScore]
    ) -> tuple[list[dict[str, Any]], int]:
        numbers = list(dict.fromkeys(int(x) for m in _MARKER.finditer(answer) for x in m.group(1).split(",")))
        citations = [self._citation(n, sources[n - 1], retrieved) for n in numbers if 1 <= n <= len(sources)]
        return citations, sum(1 for n in numbers if not 1 <= n <= len(sources))

    def _citation(self, n: int, source: NodeWithScore, retrieved: Sequence[NodeWithScore]) -> dict[str, Any]:
        article_id = str(source.node.metadata.get("article_id", ""))
        article = self.articles.get(article_id)
        quote = source_quote(source.node.get_content(metadata_mode=MetadataMode.NONE))
        origin, start = _locate(quote, article.text if article else "", article_id, retrieved)
        return {
            "n": n,
            "article_id": article_id,
            "title": article.title if article else str(source.node.metadata.get("title", "")),
            "source": article.source if article else None,
            "url": article.url if article else None,
            "published_at": article.published_at if article else None,
            "chunk_id": origin.node.node_id if origin else "",
            "quote": quote,
            "start": start,
            "end": start + len(quote) if start >= 0 else -1,
            "score": round(float(source.score or 0.0), 4),
        }


def source_quote(text: str) -> str:
    """A citation node's text without the ``Source n:`` label and newline CitationQueryEngine adds."""
    text = _SOURCE_LABEL.sub("", text, count=1)
    return text[:-1] if text.endswith("\n") else text


def _locate(
    quote: str, article_text: str, article_id: str, retrieved: Sequence[NodeWithScore]
) -> tuple[NodeWithScore | None, int]:
    """The retrieved chunk the quote was split from, and the quote's offset in the article (-1 if not exact)."""
    for hit in retrieved:
        if hit.node.metadata.get("article_id") != article_id:
            continue
        content = hit.node.get_content(metadata_mode=MetadataMode.NONE)
        at = content.find(quote) if quote else -1
        if at < 0:
            continue
        base = getattr(hit.node, "start_char_idx", None)
        if base is not None and article_text[base + at : base + at + len(quote)] == quote:
            return hit, base + at
        return hit, article_text.find(quote)
    same_article = next((h for h in retrieved if h.node.metadata.get("article_id") == article_id), None)
    return same_article, (article_text.find(quote) if quote else -1)


def _ranked(hit: NodeWithScore) -> dict[str, Any]:
    return {
        "article_id": str(hit.node.metadata.get("article_id", "")),
        "chunk_id": hit.node.node_id,
        "score": round(float(hit.score or 0.0), 4),
    }
