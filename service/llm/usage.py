"""Token counts of one request's model calls, summed over every call: a follow-up's rewrite, the answer, its checks.

A ``TokenUsage`` is put in force around a block (``metering``); every backend model call adds its counts to the
one in force (``record``) and logs them. It rides a ContextVar like the gate's ``stop_when``, so the engines need
not pass it along. A request's steps run in worker threads, each in a copy of the context taken when it starts,
so a ContextVar set in one step is gone in the next: the request carries the object from step to step and puts it
in force in each.

``prompt_tokens`` counts the whole prompt each call read, also the part restored from a saved state rather than
evaluated again (``cached_tokens``), as OpenAI reports cached prompts: the count then depends only on the request,
not on what was asked before it, and means the same as any other OpenAI-compatible server's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

log = logging.getLogger("citewire.llm")


@dataclass
class TokenUsage:
    prompt_tokens: int = 0  # every prompt token the model read, cached ones included
    completion_tokens: int = 0  # tokens it generated (an end-of-generation token not included)
    cached_tokens: int = 0  # of prompt_tokens: restored from a saved prefix state, not evaluated again
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int, cached: int = 0) -> None:
        with self._lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.cached_tokens += cached
            self.calls += 1

    def snapshot(self) -> TokenUsage:
        """The counts so far, apart from later calls."""
        with self._lock:
            return TokenUsage(self.prompt_tokens, self.completion_tokens, self.cached_tokens, self.calls)


_usage: ContextVar[TokenUsage | None] = ContextVar("citewire_usage", default=None)


@contextmanager
def metering(usage: TokenUsage) -> Iterator[TokenUsage]:
    """Model calls in the block (this thread, this context) add their counts to ``usage``."""
    token = _usage.set(usage)
    try:
        yield usage
    finally:
        _usage.reset(token)


def record(call: str, prompt: int, completion: int, cached: int = 0) -> None:
    """Called by the backends once per model call, finished or cut short, with what it read and wrote."""
    usage = _usage.get()
    if usage is not None:
        usage.add(prompt, completion, cached)
    log.info(
        "model call %s: %d prompt tokens (%d cached), %d generated",
        call,
        prompt,
        cached,
        completion,
        extra={"model_call": call, "prompt_tokens": prompt, "cached_tokens": cached, "completion_tokens": completion},
    )
