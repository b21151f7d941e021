"""The generation gate: one at a time, a bounded queue, deadlines, and Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from service.llm.gate import Busy, GenerationGate, Stopped, checkpoint, stop_when


def _hold(gate: GenerationGate, entered: threading.Event, release: threading.Event) -> threading.Thread:
    def work() -> None:
        with gate.slot():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=work)
    thread.start()
    assert entered.wait(5)
    return thread


def test_a_full_queue_turns_requests_away_at_once_with_a_retry_hint() -> None:
    gate = GenerationGate(max_waiting=0, timeout_s=5)
    entered, release = threading.Event(), threading.Event()
    holder = _hold(gate, entered, release)
    started = time.monotonic()
    with pytest.raises(Busy) as busy:
        gate.enter()
    assert time.monotonic() - started < 1  # refused, not queued
    assert busy.value.retry_after_s >= 1
    release.set()
    holder.join()
    with gate.slot() as ticket:  # free again
        assert not ticket.expired()
    assert gate.active == 0 and gate.waiting == 0


def test_a_waiting_request_gives_up_at_its_deadline() -> None:
    gate = GenerationGate(max_waiting=4, timeout_s=0.3)
    entered, release = threading.Event(), threading.Event()
    holder = _hold(gate, entered, release)
    started = time.monotonic()
    with pytest.raises(Busy, match="within"):
        gate.enter()
    assert 0.25 < time.monotonic() - started < 2
    assert gate.waiting == 0
    release.set()
    holder.join()


def test_waiters_are_served_one_after_another() -> None:
    gate = GenerationGate(max_waiting=8, timeout_s=5)
    inside, most = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with gate.slot():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    assert gate.active == 0


def test_leaving_twice_frees_one_slot_only() -> None:
    gate = GenerationGate(max_waiting=0, timeout_s=1)
    ticket = gate.enter()
    gate.leave(ticket)
    gate.leave(ticket)  # a second leave must not raise the slot count above one
    first = gate.enter()
    with pytest.raises(Busy):
        gate.enter()
    gate.leave(first)


def _waiter(gate: GenerationGate, order: list[str], name: str, background: bool = False) -> threading.Thread:
    def work() -> None:
        with gate.slot(background=background):
            order.append(name)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_requests_are_served_in_arrival_order_and_background_work_after_them() -> None:
    gate = GenerationGate(max_waiting=8, timeout_s=5)
    entered, release = threading.Event(), threading.Event()
    holder = _hold(gate, entered, release)
    order: list[str] = []
    threads = [_waiter(gate, order, "background", background=True)]
    time.sleep(0.05)  # the background job came first
    for waiting, name in enumerate(("first", "second", "third"), start=1):
        threads.append(_waiter(gate, order, name))
        _until(lambda waiting=waiting: gate.waiting == waiting)
    release.set()
    for t in [holder, *threads]:
        t.join()
    assert order == ["first", "second", "third", "background"]


def test_background_work_takes_a_free_slot_no_request_waits_for() -> None:
    gate = GenerationGate(max_waiting=0, timeout_s=5)
    order: list[str] = []
    _waiter(gate, order, "background", background=True).join(timeout=5)
    assert order == ["background"] and gate.active == 0


def test_model_work_stops_at_the_deadline_of_its_slot() -> None:
    gate = GenerationGate(max_waiting=0, timeout_s=0.05)
    with pytest.raises(Stopped), gate.slot():
        checkpoint()  # in time
        time.sleep(0.1)
        checkpoint()  # past the deadline: what a model call does first
    checkpoint()  # outside any slot nothing stops
    assert gate.active == 0


def test_stop_when_applies_to_its_own_thread_only() -> None:
    seen: list[bool] = []

    def other() -> None:
        try:
            checkpoint()
            seen.append(False)
        except Stopped:
            seen.append(True)

    with stop_when(lambda: True):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        with pytest.raises(Stopped):
            checkpoint()
    assert seen == [False]


def test_a_waiting_request_whose_client_left_gives_its_place_up_at_once() -> None:
    gate = GenerationGate(max_waiting=4, timeout_s=30)
    entered, release = threading.Event(), threading.Event()
    holder = _hold(gate, entered, release)
    left = threading.Event()
    outcome: list[str] = []

    def wait() -> None:
        try:
            gate.enter(left.is_set)
        except Stopped:
            outcome.append("stopped")

    waiter = threading.Thread(target=wait)
    waiter.start()
    _until(lambda: gate.waiting == 1)
    started = time.monotonic()
    left.set()
    waiter.join(timeout=5)
    assert outcome == ["stopped"] and time.monotonic() - started < 0.5
    assert gate.waiting == 0
    release.set()
    holder.join()
    assert gate.active == 0
