"""The generation gate: a fixed number of generation slots, a bounded queue before them, a deadline for every request.

The local model's context cannot be shared between threads, so the app uses one slot. A request finding ``max_waiting``
others queued is refused at once (``Busy``: HTTP 503 with Retry-After), as is one waiting past its deadline; the same
deadline also stops its generation. Retrieval never enters the gate, so lookups are not held up by generation.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class Busy(Exception):
    """No slot now: the queue is full, or the wait would pass the request's deadline."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class GenerationGate:
    """Admits ``slots`` generations at once; at most ``max_waiting`` requests wait, each ``timeout_s`` at most."""

    def __init__(self, max_waiting: int, timeout_s: float, slots: int = 1) -> None:
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self._active = 0
        self._average_s = 10.0  # a first guess at one answer's time, updated as answers finish

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def active(self) -> int:
        return self._active

    def retry_after_s(self) -> int:
        """Seconds until a slot is likely free: the queue ahead times the recent answer time."""
        return max(1, math.ceil(self._average_s * (self._waiting + 1)))

    def enter(self) -> Ticket:
        """Wait for a generation slot (blocking); ``Busy`` when the queue is full or the wait too long."""
        deadline = time.monotonic() + self.timeout_s
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.max_waiting:
                    raise Busy(f"the model is busy: {self._waiting} requests are waiting", self.retry_after_s())
                self._waiting += 1
            try:
                acquired = self._slots.acquire(timeout=self.timeout_s)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise Busy(f"no model slot within {self.timeout_s:g} s", self.retry_after_s())
        with self._lock:
            self._active += 1
        return Ticket(deadline=deadline, started=time.monotonic())

    def leave(self, ticket: Ticket) -> None:
        """Give the slot back (once per ticket)."""
        if ticket.left:
            return
        ticket.left = True
        with self._lock:
            self._active -= 1
            self._average_s = 0.8 * self._average_s + 0.2 * (time.monotonic() - ticket.started)
        self._slots.release()

    @contextmanager
    def slot(self) -> Iterator[Ticket]:
        """Hold a generation slot for the block."""
        ticket = self.enter()
        try:
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
