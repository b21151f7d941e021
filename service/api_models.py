"""Request and response models of the HTTP API (the OpenAPI schema at /docs is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(min_length=1, max_length=100_000, description="The question, in plain language.")
    top_k: int | None = Field(None, ge=1, le=20, description="How many passages to retrieve (default from settings).")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("question must not be blank")
        if "\x00" in value:
            raise ValueError("question must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("question must be valid Unicode text (no lone surrogates)") from None
        return value


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
    lang: str | None
    chunk_count: int


class ArticleList(BaseModel):
    total: int
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


class Health(BaseModel):
    status: str
    articles: int
    chunks: int
    embed_model: str
    llm: str


class EvalRequest(BaseModel):
    """A batch of questions in the format of ``citewire eval``'s questions file."""

    model_config = ConfigDict(extra="forbid")

    questions: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=500,
        description="Objects like the lines of questions.jsonl: id, question, answer, evidence [{article_id}], "
        "choices?, answer_index?; unknown fields are ignored.",
    )
    engine: Literal["citewire", "baseline"] = "citewire"
    top_k: int | None = Field(None, ge=1, le=20)
    with_choices: bool = Field(False, description="Append multiple-choice options to each question.")


class EvalJob(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    engine: str
    done: int
    total: int
    error: str | None = None
    metrics: dict[str, Any] | None = Field(None, description="Summary metrics, once the job is done.")
    results: list[dict[str, Any]] = Field(
        default_factory=list, description="One object per finished question, as in RESULTS.jsonl."
    )
