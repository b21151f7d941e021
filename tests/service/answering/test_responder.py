"""The responder under the gate: the deadline and a leaving client end verification too, and the slot is freed.

The engine is a stand-in whose verification makes model calls (each passes ``checkpoint()``, as the
llama.cpp backend's calls do); the gate and the responder are the real ones."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from service.answering.chat import Turn
from service.answering.responder import AnswerRequest, GenerationTimeout, Responder
from service.answering.types import Answer
from service.llm.gate import GenerationGate, checkpoint
from service.llm.usage import TokenUsage, record


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


# -- usage: every model call of a request, summed across the worker threads its steps run in ----------------------


class MeteredEngine(SlowVerifyingEngine):
    """Records a model call's usage in each step, as the backends do: rewrite, generation, two verifications."""

    def __init__(self, cached: Answer | None = None) -> None:
        super().__init__(calls=0, call_s=0)
        self.llm = self
        self.cached = cached

    def stream_chat(self, messages: Any, **kwargs: Any) -> Iterator[Any]:
        from llama_index.core.base.llms.types import ChatMessage, ChatResponse

        record("rewrite", 100, 7)
        yield ChatResponse(message=ChatMessage(role="assistant", content="What did the memo say?"), delta="")

    def draft(self, *args: Any) -> object:
        return self.cached if self.cached is not None else object()

    def generate(self, draft: object, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
        record("answer", 300, 20, cached=250)
        yield from super().generate(draft, should_stop)

    def finish(self, draft: object, raw: str, generate_ms: float) -> Answer:
        record("verify", 50, 0, cached=40)
        record("verify", 60, 0, cached=40)
        return super().finish(draft, raw, generate_ms)


def _in_a_worker(work: Callable[[], Any]) -> Any:
    """``work()`` in a fresh thread with a copy of this context, as Starlette's ``run_in_threadpool`` runs it."""
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(context.run, work).result()


HISTORY = [Turn(role="user", content="Who reviewed the memo?"), Turn(role="assistant", content="The FT [1].")]


def test_usage_sums_the_rewrite_the_answer_and_its_checks_across_threads() -> None:
    responder = _responder(MeteredEngine(), timeout_s=30)
    prepared = _in_a_worker(lambda: responder.prepare(AnswerRequest("And what did it say?", HISTORY)))
    answer = _in_a_worker(lambda: responder.run(prepared))
    assert answer.usage == TokenUsage(prompt_tokens=510, completion_tokens=27, cached_tokens=330, calls=4)
    assert answer.usage.total_tokens == 537


def test_an_answer_found_before_the_model_costs_only_the_rewrite() -> None:
    """A cached answer keeps no usage of the request that made it: this request's calls are what counts."""
    stale = Answer("From the cache [1].", False, [], [], {}, usage=TokenUsage(900, 90, 0, 5))
    responder = _responder(MeteredEngine(cached=stale), timeout_s=30)
    alone = _in_a_worker(lambda: responder.prepare(AnswerRequest("What did the memo say?")))
    followed = _in_a_worker(lambda: responder.prepare(AnswerRequest("And what did it say?", HISTORY)))
    assert alone.answer is not None and alone.answer.usage == TokenUsage()
    assert followed.answer is not None and followed.answer.usage == TokenUsage(100, 7, 0, 1)
    assert responder.run(alone) is alone.answer and responder.gate.active == 0
