"""Generation in a worker thread, relayed to an async response as it happens.

The worker holds the request's generation slot from start to end and frees it itself, so a client
that never reads, or leaves, cannot keep the model: leaving sets ``stop``, and the engine stops
generating at the next token.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from service.answering.responder import GenerationTimeout, Prepared, Responder
from service.answering.types import Answer

log = logging.getLogger(__name__)


class GenerationStream:
    """Starts generating at once; ``events()`` yields ("token", str), then ("final", Answer) or ("error", str)."""

    def __init__(self, responder: Responder, prepared: Prepared) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._stop = threading.Event()
        # Run in a copy of the request's context, so log lines from the worker carry its request id.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._work, responder, prepared), name="citewire-generate", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        try:
            while True:
                kind, data = await self._queue.get()
                if kind == "end":
                    return
                yield kind, data
        finally:
            self._stop.set()  # the client is gone (or the response is done): stop generating

    def _put(self, kind: str, data: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop has closed (server shutting down)
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, data))

    def _work(self, responder: Responder, prepared: Prepared) -> None:
        try:
            answer = responder.run(prepared, lambda piece: self._put("token", piece), self._stop)
            if answer is not None:
                self._put("final", answer)
        except GenerationTimeout as exc:
            self._put("error", str(exc))
        except Exception:
            log.exception("generation failed")
            self._put("error", "internal error")
        finally:
            self._put("end", None)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def answer_events(stream: GenerationStream, shape: Any) -> AsyncIterator[str]:
    """Citewire's own stream: 'token' events, then 'final' with ``shape(answer)`` (or 'error')."""
    async for kind, data in stream.events():
        if kind == "token":
            yield sse("token", {"text": data})
        elif kind == "final":
            yield sse("final", shape(data))
        else:
            yield sse("error", {"detail": data})


async def finished(answer: Answer, shape: Any) -> AsyncIterator[str]:
    """A stream for an answer that needed no generation (an abstention): its one 'final' event."""
    yield sse("final", shape(answer))
