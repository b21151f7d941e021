"""The generation gate: a fixed number of generation slots, a bounded queue before them, a deadline for every request.

The local model's context cannot be shared between threads, so the app uses one slot. Requests wait in
arrival order; one finding ``max_waiting`` others queued is refused at once (``Busy``: HTTP 503 with
Retry-After), as is one waiting past its deadline. Background work (evaluation jobs) waits in a lane of its
own and gets the slot only when no request is waiting. Retrieval never enters the gate, so lookups are not
held up by generation.

Whoever holds a slot runs its model work inside ``stop_when(...)``: every model call and every generated
token passes a ``checkpoint()``, which raises ``Stopped`` once the client has left or the deadline has
passed, so verification is cut short as surely as generation; the llama.cpp backend also aborts a long
prompt evaluation in the middle (``current_stop``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_LOOK_S = 0.1  # how often a waiting request looks whether its client is still there


class Busy(Exception):
    """No slot now: the queue is full, or the wait would pass the request's deadline."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Stopped(Exception):
    """Model work for a request ends here: its client left, or its deadline passed."""


_stop_when: ContextVar[Callable[[], bool] | None] = ContextVar("citewire_stop_when", default=None)


@contextmanager
def stop_when(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Model work in the block (this thread, this context) ends with ``Stopped`` once ``should_stop()``."""
    token = _stop_when.set(should_stop)
    try:
        yield
    finally:
        _stop_when.reset(token)


def current_stop() -> Callable[[], bool] | None:
    """The enclosing ``stop_when``'s test, for a backend that checks it from its own threads."""
    return _stop_when.get()


def checkpoint() -> None:
    """Called by the model backends before each model call and between tokens."""
    should_stop = _stop_when.get()
    if should_stop is not None and should_stop():
        raise Stopped()


class GenerationGate:
    """Admits ``slots`` generations at once; at most ``max_waiting`` requests wait, each ``timeout_s`` at most."""

    def __init__(self, max_waiting: int, timeout_s: float, slots: int = 1) -> None:
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._free = slots
        self._changed = threading.Condition()
        self._queue: deque[object] = deque()  # requests waiting, first come first served
        self._background = 0  # background work waiting
        self._active = 0
        self._average_s = 10.0  # a first guess at one answer's time, updated as answers finish

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def active(self) -> int:
        return self._active

    def retry_after_s(self) -> int:
        """Seconds until a slot is likely free: the queue ahead times the recent answer time."""
        return max(1, math.ceil(self._average_s * (len(self._queue) + 1)))

    def enter(self, should_stop: Callable[[], bool] | None = None) -> Ticket:
        """Wait for a slot (blocking), in arrival order; ``Busy`` if the queue is full or the wait too long,
        ``Stopped`` as soon as ``should_stop()`` (the client left: its place goes to the next in line)."""
        deadline = time.monotonic() + self.timeout_s
        me = object()
        with self._changed:
            if self._free == 0 or self._queue:
                if len(self._queue) >= self.max_waiting:
                    raise Busy(f"the model is busy: {len(self._queue)} requests are waiting", self.retry_after_s())
                self._queue.append(me)
                try:
                    while not (self._free > 0 and self._queue[0] is me):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise Busy(f"no model slot within {self.timeout_s:g} s", self.retry_after_s())
                        if should_stop is not None and should_stop():
                            raise Stopped()
                        self._changed.wait(min(left, _LOOK_S))
                finally:
                    self._queue.remove(me)
                    self._changed.notify_all()  # the next in line may be at the head now
            return self._take(deadline)

    def enter_background(self) -> Ticket:
        """Wait, without limit, for a slot no request is waiting for; the deadline runs from then."""
        with self._changed:
            self._background += 1
            try:
                self._changed.wait_for(lambda: self._free > 0 and not self._queue)
            finally:
                self._background -= 1
            return self._take(time.monotonic() + self.timeout_s)

    def _take(self, deadline: float) -> Ticket:
        self._free -= 1
        self._active += 1
        return Ticket(deadline=deadline, started=time.monotonic())

    def leave(self, ticket: Ticket) -> None:
        """Give the slot back (once per ticket)."""
        with self._changed:
            if ticket.left:
                return
            ticket.left = True
            self._active -= 1
            self._free += 1
            self._average_s = 0.8 * self._average_s + 0.2 * (time.monotonic() - ticket.started)
            self._changed.notify_all()

    @contextmanager
    def slot(self, background: bool = False) -> Iterator[Ticket]:
        """Hold a generation slot for the block, its model work stopped at the deadline."""
        ticket = self.enter_background() if background else self.enter()
        try:
            with stop_when(ticket.expired):
                yield ticket
        finally:
            self.leave(ticket)


@dataclass
class Ticket:
    """A held slot: the request's deadline (``time.monotonic()``) and when generation could start."""

    deadline: float
    started: float
    left: bool = False

    def expired(self) -> bool:
        return time.monotonic() > self.deadline
