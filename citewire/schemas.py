"""The HTTP API's wire models that clients read: one definition, used by the server and by ``citewire.client``.

Pure pydantic (no service imports), so a client installs and imports without the service's heavy parts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"


class Filters(BaseModel):
    """Which articles may answer: every field given must hold (AND); dates are inclusive days.

    The server's ``QueryFilters`` adds the checks that need its index (real dates, safe ids)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source: str | None = Field(None, min_length=1, max_length=200, description="Exact source, e.g. 'cnn.com'.")
    published_after: str | None = Field(None, pattern=_ISO_DAY, description="YYYY-MM-DD, inclusive.")
    published_before: str | None = Field(None, pattern=_ISO_DAY, description="YYYY-MM-DD, inclusive.")
    article_ids: list[str] | None = Field(None, min_length=1, max_length=1000, description="Only these articles.")
    as_of: str | None = Field(
        None,
        pattern=_ISO_DAY,
        description="YYYY-MM-DD: the day the question is asked. Articles published later are left out (undated "
        "ones stay), and 'latest' / 'this week' count back from this day instead of from the newest article.",
    )


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


class ArticleSummary(BaseModel):
    id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    section: str | None
    author: str | None = None
    lang: str | None
    chunk_count: int


class ArticleList(BaseModel):
    total: int = Field(description="Articles matching the filters, on all pages.")
    offset: int = 0
    limit: int = 100
    articles: list[ArticleSummary]


class ArticleDetail(ArticleSummary):
    text: str
    version: str
    ingested_at: str


class PassageOut(BaseModel):
    article_id: str
    title: str
    start: int
    end: int
    quote: str = Field(description="The cited span: article text[start:end].")
    context: str = Field(description="The span with surrounding text.")
    context_start: int = Field(description="Offset of the context in the article text.")
    context_end: int
    highlight_start: int = Field(description="Offset of the quote inside the context.")
    highlight_end: int


ClaimLabel = Literal["supported", "contradicted", "unmentioned"]


class CheckSpan(BaseModel):
    """A sentence of an article that bears on a claim: exactly article text[start:end]."""

    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    chunk_id: str = Field(description="The retrieved chunk the sentence was found in.")
    quote: str = Field(description="The sentence: article text[start:end].")
    start: int
    end: int
    support: float = Field(description="The verifier's P(true): how surely this sentence states the claim.")
    contradiction: float = Field(description="The verifier's P(false): how surely this sentence says otherwise.")


class ClaimCheck(BaseModel):
    text: str = Field(description="The claim: text[start:end] of the checked text.")
    start: int = Field(description="Offset of the claim in the checked text.")
    end: int
    label: ClaimLabel = Field(
        description="supported: an article states it; contradicted: an article says otherwise; unmentioned: neither."
    )
    support: float = Field(description="The best support score among the sentences checked, in [0, 1].")
    contradiction: float = Field(description="The best contradiction score among the sentences checked, in [0, 1].")
    supporting: list[CheckSpan] = Field(description="Sentences that state the claim, best first.")
    contradicting: list[CheckSpan] = Field(description="Sentences that say otherwise, best first.")


class CheckTimings(BaseModel):
    retrieve: float
    verify: float
    total: float


class CheckResponse(BaseModel):
    score: float = Field(description="Overall grounding: the claims' mean support score, in [0, 1].")
    supported: int = Field(description="Claims labelled supported.")
    contradicted: int
    unmentioned: int
    claims: list[ClaimCheck] = Field(description="The text's claims (its sentences), in order.")
    timings_ms: CheckTimings
