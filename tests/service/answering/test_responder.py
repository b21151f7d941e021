"""The responder under the gate: the deadline and a leaving client end verification too, and the slot is freed.

The engine is a stand-in whose verification makes model calls (each passes ``checkpoint()``, as the
llama.cpp backend's calls do); the gate and the responder are the real ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.answering.chat import Turn
from service.answering.responder import AnswerRequest, GenerationTimeout, Responder
from service.answering.types import Answer
from service.llm.gate import GenerationGate, checkpoint


class SlowVerifyingEngine:
    """Drafts at once, writes three pieces, then verifies with ``calls`` model calls of ``call_s`` each."""

    llm: Any = None

    def __init__(self, calls: int, call_s: float, during_verify: Callable[[], None] = lambda: None) -> None:
        self.calls, self.call_s, self.during_verify = calls, call_s, during_verify
        self.verified_calls = 0

    def draft(self, *args: Any) -> object:
        return object()

    def generate(self, draft: object, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
        yield from ("The ", "answer ", "[1].")

    def finish(self, draft: object, raw: str, generate_ms: float) -> Answer:
        self.during_verify()
        for _ in range(self.calls):
            checkpoint()  # what every model call does first
            time.sleep(self.call_s)
            self.verified_calls += 1
        return Answer(raw, False, [], [], {})


def _responder(engine: SlowVerifyingEngine, timeout_s: float) -> Responder:
    return Responder(engine, GenerationGate(max_waiting=4, timeout_s=timeout_s))  # type: ignore[arg-type]


def test_the_deadline_covers_verification_and_frees_the_slot() -> None:
    engine = SlowVerifyingEngine(calls=50, call_s=0.02)  # a second of verification
    responder = _responder(engine, timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(GenerationTimeout):
        responder.run(responder.prepare(AnswerRequest("Why?")))
    assert time.monotonic() - started < 0.5  # not the whole second
    assert 0 < engine.verified_calls < 50
    assert responder.gate.active == 0


def test_a_client_leaving_during_verification_stops_it() -> None:
    stop = threading.Event()
    engine = SlowVerifyingEngine(calls=50, call_s=0.02, during_verify=stop.set)
    responder = _responder(engine, timeout_s=30)
    assert responder.run(responder.prepare(AnswerRequest("Why?")), stop=stop) is None
    assert engine.verified_calls == 0
    assert responder.gate.active == 0


def test_an_answer_in_time_is_verified_in_full() -> None:
    engine = SlowVerifyingEngine(calls=3, call_s=0.001)
    responder = _responder(engine, timeout_s=30)
    answer = responder.run(responder.prepare(AnswerRequest("Why?")))
    assert answer is not None and answer.text == "The answer [1]."
    assert engine.verified_calls == 3 and responder.gate.active == 0


class SlowRewriteLLM:
    """A model whose follow-up rewrite outlasts the deadline: each streamed piece passes the stop check."""

    def stream_chat(self, messages: Any, **kwargs: Any) -> Iterator[Any]:
        from llama_index.core.base.llms.types import ChatMessage, ChatResponse

        for _ in range(100):
            checkpoint()
            time.sleep(0.01)
            yield ChatResponse(message=ChatMessage(role="assistant", content="x"), delta="x")


def test_a_rewrite_past_the_deadline_is_a_timeout_not_a_client_that_left() -> None:
    engine = SlowVerifyingEngine(calls=0, call_s=0)
    engine.llm = SlowRewriteLLM()
    responder = _responder(engine, timeout_s=0.1)
    history = [Turn(role="user", content="Who reviewed the memo?"), Turn(role="assistant", content="The FT [1].")]
    with pytest.raises(GenerationTimeout):
        responder.prepare(AnswerRequest("And what did it say?", history), stop=threading.Event())
    assert responder.gate.active == 0
