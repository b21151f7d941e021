"""Uploaded article files parsed in a small pool of worker processes, each file within a time limit.

Parsing an upload (lxml and trafilatura on a page, charset detection, langdetect on every JSONL line) is
CPU work whose cost the sender controls. On the event loop it stalls every other request, and a thread
that runs too long cannot be stopped; a process can. So files are parsed in worker processes, and when
one is still parsing after its limit, the pool's workers are killed and a new pool replaces it (a
ProcessPoolExecutor is unusable once one of its workers dies). Files that were parsing beside it are
tried again on the new pool.

Workers are started with 'spawn': the server has threads and torch, and forking it is unsafe. They
import this module and ``index.loaders`` only (no torch, no embedder, no app). The limit runs from the
moment a worker starts on a file, so waiting for a free worker, or for a new one to start, never counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import multiprocessing
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from index.articles import Article
from index.loaders import articles_from_bytes

__all__ = ["WORKERS", "ParseCrashedError", "ParsePool", "ParseTimeoutError", "close_parse_pool", "parse_upload"]

WORKERS = 2  # small: uploads are rare next to questions, and each idle worker holds lxml and langdetect
START_METHOD = "spawn"
_POLL_S = 0.02  # how often the watchdog looks at files being parsed
_ATTEMPTS = 3  # tries for a file whose worker died for another file's overrun (or crashed)
_CLOSE_WAIT_S = 5.0  # at shutdown, how long a worker may take to finish before it is killed
# Parsed once in each new worker, so langdetect's profiles and trafilatura's first-call setup load
# before any file's time limit runs.
_WARM_UP_PAGE = (
    b"<html><head><title>Warm-up</title></head><body><article><p>The city council approved a new tram "
    b"line on Monday. The line will connect the harbour with the university, the mayor said.</p>"
    b"</article></body></html>"
)


class ParseTimeoutError(Exception):
    """Parsing one file took longer than the limit; its worker was killed."""

    def __init__(self, name: str, limit_s: float) -> None:
        limit = f"the limit of {limit_s:g} s (CITEWIRE_PARSE_TIMEOUT_S)"
        super().__init__(f"{name}: parsing took longer than {limit}; nothing was stored")
        self.name = name
        self.limit_s = limit_s


class ParseCrashedError(Exception):
    """The worker parsing a file died, on every try (a file that crashes the parser, or no memory left)."""


# -- in a worker --------------------------------------------------------------------------------------

# This worker's row in the table the watchdog reads: (id of the file being parsed or 0, when it started).
_table: Any = None
_row = 0


def _init_worker(table: Any, rows_taken: Any) -> None:
    """Take a row of the shared table, leave Ctrl-C to the server, and warm the parsers up."""
    global _table, _row
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its workers itself
    with rows_taken.get_lock():
        _row = rows_taken.value % (len(table) // 2)
        rows_taken.value += 1
    _table = table
    with contextlib.suppress(Exception):  # a warm-up that fails costs time later, not the pool
        list(articles_from_bytes("warm-up.html", _WARM_UP_PAGE))


def _parse(task: int, name: str, data: bytes, max_articles: int | None) -> list[Article]:
    """Parse one file, with the start time in this worker's row for the watchdog."""
    _table[2 * _row + 1] = time.monotonic()  # system-wide clock: the server compares it with its own
    _table[2 * _row] = task  # written last: a reader who sees this id sees its start time
    try:
        return list(articles_from_bytes(name, data, max_articles=max_articles))
    finally:
        _table[2 * _row] = 0


# -- in the server ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Pool:
    """One ProcessPoolExecutor and its table; retired (and killed, after an overrun) as a whole."""

    executor: ProcessPoolExecutor
    table: Any
    overran: set[int] = field(default_factory=set)  # files it was killed for
    retired: bool = False

    def started_at(self, task: int) -> float | None:
        """When a worker started on the file, or None if none has (or it is done)."""
        for row in range(len(self.table) // 2):
            if self.table[2 * row] == task:
                started = float(self.table[2 * row + 1])
                return started if self.table[2 * row] == task else None  # the row may have moved on meanwhile
        return None


class ParsePool:
    """Worker processes that parse article files: started on first use, replaced after a kill."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._context = multiprocessing.get_context(START_METHOD)
        self._lock = threading.Condition()
        self._pool: _Pool | None = None
        self._running: dict[int, tuple[_Pool, float]] = {}  # file id -> its pool and time limit
        self._ids = itertools.count(1)
        self._watchdog: threading.Thread | None = None

    async def parse(
        self, name: str, data: bytes, *, timeout_s: float, max_articles: int | None = None
    ) -> list[Article]:
        """The articles of one file, as ``articles_from_bytes`` gives them (and its ArticleFormatError).

        Raises ParseTimeoutError when a worker spends more than ``timeout_s`` on it."""
        for _ in range(_ATTEMPTS):
            pool, task, future = self._submit(name, data, timeout_s, max_articles)
            waiting = asyncio.wrap_future(future)
            waiting.add_done_callback(_retrieve)
            try:
                # Shielded: a request that goes away leaves its file to the watchdog, and a cancelled
                # future would trip the executor's own clean-up when the pool breaks.
                return await asyncio.shield(waiting)
            except BrokenProcessPool:
                if task in pool.overran:
                    raise ParseTimeoutError(name, timeout_s) from None
                self._retire(pool, kill=False)  # killed for another file, or a worker crashed: try anew
        raise ParseCrashedError(f"{name}: the parser's process died on each of {_ATTEMPTS} tries")

    def close(self) -> None:
        """Stop the workers (when the app stops); a parse after this starts new ones."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._watchdog = None
            self._lock.notify_all()
        if pool is None:
            return
        pool.retired = True
        processes = list((pool.executor._processes or {}).values())
        pool.executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + _CLOSE_WAIT_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
        pool.executor.shutdown(wait=True)

    def _submit(
        self, name: str, data: bytes, timeout_s: float, max_articles: int | None
    ) -> tuple[_Pool, int, Future[list[Article]]]:
        with self._lock:
            while True:
                pool = self._pool or self._start_pool()
                task = next(self._ids)
                try:
                    future = pool.executor.submit(_parse, task, name, data, max_articles)
                    break
                except BrokenProcessPool:  # a worker died since the last file
                    self._retire_locked(pool, kill=False)
            self._running[task] = (pool, timeout_s)
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="citewire-parse-watchdog", daemon=True)
                self._watchdog.start()
            self._lock.notify_all()
        future.add_done_callback(lambda _: self._running.pop(task, None))  # no lock: runs in the executor's thread
        return pool, task, future

    def _start_pool(self) -> _Pool:
        table = self._context.RawArray(ctypes.c_double, 2 * self._workers)
        executor = ProcessPoolExecutor(
            self._workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(table, self._context.Value(ctypes.c_int, 0)),
        )
        self._pool = _Pool(executor, table)
        return self._pool

    def _watch(self) -> None:
        """Kill the pool of any file parsed for longer than its limit; idle while nothing is parsed."""
        me = threading.current_thread()
        with self._lock:
            while self._watchdog is me:
                if not self._running:
                    self._lock.wait()
                    continue
                now = time.monotonic()
                for task, (pool, limit_s) in self._running.copy().items():
                    started = pool.started_at(task)
                    if started is not None and now - started > limit_s and not pool.retired:
                        pool.overran.add(task)
                        self._retire_locked(pool, kill=True)
                self._lock.wait(_POLL_S)

    def _retire(self, pool: _Pool, *, kill: bool) -> None:
        with self._lock:
            self._retire_locked(pool, kill=kill)

    def _retire_locked(self, pool: _Pool, *, kill: bool) -> None:
        """Take a pool out of use: the next file starts a new one. With ``kill``, its workers die now and
        every file it was parsing fails with BrokenProcessPool (the others are then tried again)."""
        if self._pool is pool:
            self._pool = None
        if pool.retired:
            return
        pool.retired = True
        if kill:
            for process in list((pool.executor._processes or {}).values()):
                process.kill()
        pool.executor.shutdown(wait=False)


def _retrieve(waiting: asyncio.Future[list[Article]]) -> None:
    """Mark a file's outcome as seen, so one whose request went away logs no 'never retrieved' error."""
    if not waiting.cancelled():
        waiting.exception()


_shared = ParsePool()  # one a process: each `serve --workers N` process parses with its own


async def parse_upload(name: str, data: bytes, *, timeout_s: float, max_articles: int | None = None) -> list[Article]:
    """Parse one uploaded file in this process's pool: see ``ParsePool.parse``."""
    return await _shared.parse(name, data, timeout_s=timeout_s, max_articles=max_articles)


def close_parse_pool() -> None:
    """Stop this process's parse workers (the app's shutdown)."""
    _shared.close()
