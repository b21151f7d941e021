"""Engine results in the shape of the HTTP API's response models (shared by the API, CLI and eval)."""

from __future__ import annotations

from service.api_models import CitationOut, QueryResponse, SentenceOut, Timings
from service.engine import Answer


def to_query_response(answer: Answer) -> QueryResponse:
    citations = [
        CitationOut(
            n=c.n,
            article_id=c.passage.article.article.id,
            title=c.passage.article.article.title,
            source=c.passage.article.article.source,
            url=c.passage.article.article.url,
            published_at=c.passage.article.article.published_at,
            chunk_id=c.passage.chunk_id,
            quote=c.quote,
            start=c.start,
            end=c.end,
            score=round(c.passage.score, 4),
        )
        for c in answer.citations
    ]
    sentences = [SentenceOut(text=c.text, citations=c.markers, supported=c.supported) for c in answer.sentences]
    return QueryResponse(
        answer=answer.text,
        abstained=answer.abstained,
        citations=citations,
        sentences=sentences,
        timings_ms=Timings(**answer.timings_ms),
    )
