"""The types every engine shares: a passage, a citation, a checked sentence, an answer, a draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from index.records import StoredArticle
from service.llm.usage import TokenUsage


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, resolved against its committed article."""

    article: StoredArticle
    chunk_id: str
    start: int
    end: int
    text: str
    score: float  # cosine similarity of question and chunk
    lexical: float = 0.0  # BM25 score over the whole store

    def relevant(self, min_cosine: float) -> bool:
        return self.score >= min_cosine or self.lexical > 0


@dataclass(frozen=True)
class Citation:
    """Marker ``[n]``: the passage it came from, narrowed to the sentences that back the claim."""

    n: int
    passage: Passage
    start: int  # offsets into the article text
    end: int
    quote: str  # == article text[start:end]


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    markers: list[int]  # the renumbered markers it carries in the answer (empty if dropped)
    supported: bool
    score: float | None = None  # the verifier's support score, where one was computed


@dataclass
class Answer:
    text: str
    abstained: bool
    citations: list[Citation]
    retrieved: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)
    sentences: list[CheckedSentence] = field(default_factory=list)
    usage: TokenUsage | None = None  # the request's model tokens (service.answering.responder); None: not metered


@dataclass
class Draft:
    """A question ready for the model: its passages, the texts shown, and the prompt."""

    question: str  # as asked, without its options: what sentences are checked against
    asked: str  # with its options, if any: what retrieval and the model saw, and what answers must be about
    retrieved: list[Passage]
    relevant: list[Passage]  # the passages shown, in source order [1], [2]...
    shown: list[str]  # their texts as the model sees them (answers are checked against these)
    messages: list[ChatMessage]
    started: float  # perf_counter() when the question arrived
    retrieve_ms: float
    evidence: list[Any] = field(default_factory=list)  # service.answering: the evidence sentences shown
    cache_key: Any = None  # service.answering: where the finished answer is kept
