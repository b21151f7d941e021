"""An answer as data: the wire models of a search and an answer (citewire.schemas), built for the API, CLI and eval."""

from __future__ import annotations

from typing import Any

from citewire.schemas import CitationOut, QueryResponse, SearchHit, SearchResponse, SentenceOut, Timings
from service.answering.types import Answer, Passage


def _where_from(passage: Passage) -> dict[str, Any]:
    """The fields naming a passage's article and chunk, shared by citations and search hits."""
    article = passage.article.article
    return {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published_at": article.published_at,
        "chunk_id": passage.chunk_id,
        "score": round(passage.score, 4),
    }


def to_search_response(passages: list[Passage], retrieve_ms: float) -> SearchResponse:
    hits = [
        SearchHit(rank=rank, text=p.text, start=p.start, end=p.end, bm25=round(p.lexical, 4), **_where_from(p))
        for rank, p in enumerate(passages, 1)
    ]
    return SearchResponse(hits=hits, timings_ms={"retrieve": round(retrieve_ms, 2)})


def to_query_response(answer: Answer) -> QueryResponse:
    citations = [
        CitationOut(n=c.n, quote=c.quote, start=c.start, end=c.end, **_where_from(c.passage)) for c in answer.citations
    ]
    sentences = [
        SentenceOut(text=c.text, citations=c.markers, supported=c.supported, score=c.score) for c in answer.sentences
    ]
    return QueryResponse(
        answer=answer.text,
        abstained=answer.abstained,
        citations=citations,
        sentences=sentences,
        timings_ms=Timings(**answer.timings_ms),
    )
