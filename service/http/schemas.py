"""Request and response models of the HTTP API (the OpenAPI schema at /docs is generated from these)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from citewire.schemas import Filters, QueryResponse
from index.articles import is_safe_id, unstorable
from index.filters import ArticleFilter


class QueryFilters(Filters):
    """Which articles may answer: every field given must hold (AND); dates are inclusive days."""

    @field_validator("published_after", "published_before", "as_of")
    @classmethod
    def _real_day(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a calendar date") from None
        return value

    @field_validator("article_ids")
    @classmethod
    def _safe_ids(cls, value: list[str] | None) -> list[str] | None:
        bad = [i for i in value or [] if not is_safe_id(i)]
        if bad:
            raise ValueError(f"not an article id: {bad[0][:80]!r}")
        return value

    @model_validator(mode="after")
    def _ordered_dates(self) -> QueryFilters:
        if self.published_after and self.published_before and self.published_after > self.published_before:
            raise ValueError("published_after must not be later than published_before")
        if self.published_after and self.as_of and self.published_after > self.as_of:
            raise ValueError("published_after must not be later than as_of")
        return self

    def to_filter(self) -> ArticleFilter:
        return ArticleFilter(
            source=self.source,
            published_after=date.fromisoformat(self.published_after) if self.published_after else None,
            published_before=date.fromisoformat(self.published_before) if self.published_before else None,
            article_ids=frozenset(self.article_ids) if self.article_ids is not None else None,
            as_of=date.fromisoformat(self.as_of) if self.as_of else None,
        )


def clean_text(value: str, what: str = "question") -> str:
    """Stripped text, refused when blank, with NUL characters, or not encodable (lone surrogates)."""
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be blank")
    if problem := unstorable(value):
        raise ValueError(f"{what} must not hold {problem}")
    return value


_STREAM = "Answer as Server-Sent Events: 'token' events as the model writes, then one 'final' event."


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(min_length=1, max_length=100_000, description="The question, in plain language.")
    top_k: int | None = Field(None, ge=1, le=20, description="How many passages to retrieve (default from settings).")
    filters: QueryFilters | None = Field(None, description="Restrict the search to some articles.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return clean_text(value)


class QueryRequest(SearchRequest):
    stream: bool = Field(False, description=_STREAM)
    choices: list[Annotated[str, Field(max_length=500)]] | None = Field(
        None,
        min_length=2,
        max_length=10,
        description="Options of a multiple-choice question: they steer retrieval and the model, but an "
        "answer sentence still needs its words in a source (an option is not a fact).",
    )

    @field_validator("choices")
    @classmethod
    def _clean_choices(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [clean_text(choice, "a choice") for choice in value]


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(
        min_length=1,
        max_length=100_000,
        description="The text to check (a paragraph, a quote, a model's answer); each sentence is a claim.",
    )
    filters: QueryFilters | None = Field(None, description="Check only against some articles.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return clean_text(value, "text")


class ChatTurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=100_000)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return clean_text(value, "content")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[ChatTurnIn] = Field(
        min_length=1, max_length=200, description="The conversation so far; the last message is the user's question."
    )
    top_k: int | None = Field(None, ge=1, le=20)
    filters: QueryFilters | None = None
    stream: bool = Field(False, description=_STREAM)

    @model_validator(mode="after")
    def _ends_with_a_question(self) -> ChatRequest:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's question")
        return self


class ChatResponse(QueryResponse):
    standalone_question: str = Field(
        description="The question as searched: a follow-up rewritten to stand alone, else the question itself."
    )


def _no_nul(value: str | None) -> str | None:
    """Text fields may be blank (they are optional) but never hold NUL or lone surrogates."""
    if value is not None and (problem := unstorable(value)):
        raise ValueError(f"a text field must not hold {problem}")
    return value


class ArticleIn(BaseModel):
    """One article to store; like a line of an articles .jsonl file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | None = Field(None, min_length=1, max_length=128, description="Stable id; default: from url or title.")
    title: str | None = Field(None, max_length=1000)
    text: str = Field(min_length=1, description="The article body; citations point into it.")
    url: str | None = Field(None, max_length=2000)
    source: str | None = Field(None, max_length=300)
    published_at: str | None = Field(None, max_length=100, description="A date or date-time; normalised on ingest.")
    section: str | None = Field(None, max_length=300)
    author: str | None = Field(None, max_length=500)
    lang: str | None = Field(None, max_length=20, description="ISO 639-1; detected when absent.")

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is not None and not is_safe_id(value):
            raise ValueError("id must be 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit")
        return value

    @field_validator("title", "text", "url", "source", "published_at", "section", "author", "lang")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _no_nul(value)


class ArticleBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    articles: list[ArticleIn] = Field(min_length=1, description="Up to CITEWIRE_MAX_BATCH_ARTICLES articles.")


class ArticleResult(BaseModel):
    id: str
    title: str
    outcome: Literal["created", "unchanged", "replaced"] = Field(
        description="created; unchanged (the same version, or the same story stored as duplicate_of); replaced."
    )
    duplicate_of: str | None = Field(
        None, description="The stored article with the same text and headline, when a duplicate."
    )


class IngestResult(BaseModel):
    results: list[ArticleResult]
    counts: dict[str, int]


class IngestJob(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    done: int
    total: int
    error: str | None = None
    counts: dict[str, int] | None = Field(None, description="Outcomes, once the job is done.")
    results: list[ArticleResult]


class Deleted(BaseModel):
    id: str
    deleted: bool


class Health(BaseModel):
    status: str
    articles: int
    chunks: int
    embed_model: str
    llm: str
    generating: int = Field(0, description="Answers being generated now (the model serves one at a time).")
    queued: int = Field(0, description="Requests waiting for the model.")


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
    question_dates: bool = Field(
        True, description="Ask each question as of its question_date, if it has one (see filters.as_of)."
    )


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


class FieldProblem(BaseModel):
    type: str = Field(description="What kind of problem, e.g. missing, string_too_long.")
    loc: list[str] = Field(description="Where: 'body' or 'query', then the field path.")
    msg: str


class Problem(BaseModel):
    """Every error response: a message, or for a 422 from validation, what is wrong with which field."""

    detail: str | list[FieldProblem]


_PROBLEMS = {
    400: "The body could not be read (for example, JSON that is not UTF-8).",
    401: "The API key is missing or wrong (CITEWIRE_API_KEY; reads only with CITEWIRE_PROTECT_READS).",
    403: "A write sent by a web page of another origin, or through an unknown host name.",
    404: "No such article or job.",
    413: "The body, a file, a batch or an article is over its limit.",
    422: "The request is well-formed but not valid: the detail says what and where.",
    429: "Too many requests from this client (CITEWIRE_RATE_LIMIT_PER_MINUTE); see Retry-After.",
    503: "The model is busy (see Retry-After), or this server takes no writes.",
    504: "The answer took longer than CITEWIRE_REQUEST_TIMEOUT_S.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error statuses a route can answer, all shaped as ``Problem``."""
    return {code: {"model": Problem, "description": _PROBLEMS[code]} for code in codes}


STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with stream=true, Server-Sent Events instead.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
