"""One request end to end under the generation gate: rewrite, retrieve, generate, verify.

HTTP-agnostic, so the query, chat and OpenAI-compatible routes share it, streamed or not. The work is
split in two blocking steps: ``prepare`` (rewrite a follow-up and retrieve; it takes a generation
slot only when the model will be needed, and raises ``Busy`` when none is free) and ``run``
(generate, passing each piece to ``emit``, then verify; it frees the slot whatever happens).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from index.filters import ArticleFilter
from service.answering.chat import Turn, needs_rewrite, standalone_question
from service.answering.rules_engine import CitewireQueryEngine
from service.answering.types import Answer, Draft
from service.llm.gate import GenerationGate, Stopped, Ticket, checkpoint, stop_when
from service.llm.usage import TokenUsage, metering


class GenerationTimeout(Exception):
    """The answer was not finished within the request's time limit."""


@dataclass
class AnswerRequest:
    question: str  # the user's last question, as asked
    history: Sequence[Turn] = field(default_factory=list)  # earlier turns of a conversation
    top_k: int | None = None
    where: ArticleFilter | None = None
    choices: Sequence[str] = ()  # multiple-choice options, if the question has them


@dataclass
class Prepared:
    """What ``prepare`` found: an answer already (abstained before the model), or a draft and its slot.

    ``usage`` sums the request's model calls; it travels here because ``prepare`` and ``run`` run in different
    worker threads, each in its own copy of the context, and each step puts it in force (``metering``)."""

    standalone_question: str
    answer: Answer | None = None
    draft: Draft | None = None
    ticket: Ticket | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)


class AnswerObserver(Protocol):
    """Hears about each piece generated and each answer finished (the app's metrics); called inline, so quick."""

    def piece(self) -> None: ...

    def answered(self, answer: Answer) -> None: ...


class Responder:
    def __init__(self, engine: CitewireQueryEngine, gate: GenerationGate) -> None:
        self.engine = engine
        self.gate = gate
        self.observer: AnswerObserver | None = None

    def prepare(self, request: AnswerRequest, stop: threading.Event | None = None) -> Prepared:
        """Rewrite and retrieve; ``Stopped`` if ``stop`` is set (the client left) while waiting for the model,
        ``GenerationTimeout`` if the rewrite runs past the deadline."""
        stopped = stop.is_set if stop is not None else (lambda: False)
        ticket: Ticket | None = None
        usage = TokenUsage()
        try:
            question = request.question
            if needs_rewrite(question, request.history):
                ticket = self.gate.enter(stopped)  # the rewrite is a model call too
                expiring = ticket
                try:
                    with stop_when(lambda: stopped() or expiring.expired()), metering(usage):
                        question = standalone_question(self.engine.llm, request.history, question)
                except Stopped:
                    if stopped():
                        raise
                    raise GenerationTimeout(f"the rewrite took longer than {self.gate.timeout_s:g} s") from None
            draft = self.engine.draft(question, request.top_k, request.where, request.choices)
            if isinstance(draft, Answer):  # abstained, or from the cache: no model call but a rewrite
                if ticket is not None:
                    self.gate.leave(ticket)
                return Prepared(question, answer=self._finished(draft, usage), usage=usage)
            return Prepared(question, draft=draft, ticket=ticket or self.gate.enter(stopped), usage=usage)
        except BaseException:
            if ticket is not None:
                self.gate.leave(ticket)
            raise

    def run(
        self,
        prepared: Prepared,
        emit: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> Answer | None:
        """The verified answer; None if ``stop`` was set (the client left) before it was done.

        The deadline and ``stop`` end verification as well as generation (``stop_when``)."""
        if prepared.answer is not None:
            return prepared.answer
        draft, ticket = prepared.draft, prepared.ticket
        assert draft is not None and ticket is not None
        stopped = stop.is_set if stop is not None else (lambda: False)
        answer: Answer | None = None
        try:
            with stop_when(lambda: stopped() or ticket.expired()), metering(prepared.usage):
                started = time.perf_counter()
                pieces: list[str] = []
                for piece in self.engine.generate(draft, lambda: stopped() or ticket.expired()):
                    pieces.append(piece)
                    if self.observer is not None:
                        self.observer.piece()
                    if emit is not None:
                        emit(piece)
                checkpoint()  # generation may have ended early because of a stop
                answer = self.engine.finish(draft, "".join(pieces), (time.perf_counter() - started) * 1000)
        except Stopped:
            pass
        finally:
            self.gate.leave(ticket)
        if stopped():
            return None
        if answer is None:
            raise GenerationTimeout(f"the answer took longer than {self.gate.timeout_s:g} s")
        return self._finished(answer, prepared.usage)

    def _finished(self, answer: Answer, usage: TokenUsage) -> Answer:
        """Every answer ``prepare`` or ``run`` hands out passes here once: the one place it is observed, and
        where it gets this request's model usage (a cached answer's own was another request's)."""
        answer = replace(answer, usage=usage.snapshot())
        if self.observer is not None:
            self.observer.answered(answer)
        return answer
