"""An answer as data: the response models of a search and an answer, shared by the HTTP API, CLI and evaluation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from service.answering.types import Answer, Passage


class SearchHit(BaseModel):
    rank: int = Field(description="1 for the best passage.")
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    chunk_id: str
    text: str = Field(description="The passage: article text[start:end].")
    start: int
    end: int
    score: float = Field(description="Cosine similarity of the question and the passage.")
    bm25: float = Field(description="The passage's BM25 score for the question (0 when it shares no term).")


class SearchResponse(BaseModel):
    hits: list[SearchHit] = Field(description="The passages an answer would be drawn from, best first.")
    timings_ms: dict[str, float]


class CitationOut(BaseModel):
    n: int = Field(description="The marker number: [n] in the answer.")
    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    chunk_id: str = Field(description="The retrieved chunk the quote was narrowed from.")
    quote: str = Field(description="The sentence(s) of the passage that back the claim: article text[start:end].")
    start: int
    end: int
    score: float = Field(description="Cosine similarity of the question and the cited passage.")


class Timings(BaseModel):
    retrieve: float
    generate: float
    verify: float = Field(0.0, description="Checking the answer's sentences against their sources.")
    total: float


class SentenceOut(BaseModel):
    text: str = Field(description="A sentence of the model's answer, without markers.")
    citations: list[int] = Field(description="The markers [n] that back it in the answer.")
    supported: bool = Field(description="False when no retrieved passage backs it; it is then left out of the answer.")
    score: float | None = Field(
        None, description="The verifier's support score in [0, 1]: how surely its cited sentences state it."
    )


class QueryResponse(BaseModel):
    answer: str = Field(description="The answer with [n] citation markers.")
    abstained: bool = Field(description="True when the indexed articles do not answer the question.")
    citations: list[CitationOut]
    sentences: list[SentenceOut] = Field(description="Per-sentence support of the model's answer.")
    timings_ms: Timings


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
