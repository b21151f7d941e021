"""Limits as ASGI middleware: a body size limit (413 before a large body is read into memory) and a
per-client rate limit (429 with Retry-After).

A declared ``Content-Length`` over the limit is refused at once; a body without one (chunked) is
counted as it arrives, and reading it fails with an HTTPException(413) once it passes the limit,
which FastAPI turns into the same JSON 413.
"""

from __future__ import annotations

import math
import time

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.auth import has_key


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"detail": self._detail()}, status_code=413)(scope, receive, send)


def counted(path: str) -> bool:
    """Whether a request counts against the rate limit: the API's, the MCP endpoint's."""
    return path.startswith("/v1/") or path == "/mcp"


class RateLimit:
    """A token bucket per client: the API key's holder when the request carries the key, else its address.

    Only the API (``/v1/...`` and ``/mcp``) counts: probes, metrics and the page do not. ``per_minute`` 0 turns it
    off."""

    def __init__(self, app: ASGIApp, per_minute: float, burst: int, max_clients: int = 10_000) -> None:
        self.app = app
        self.rate_s = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when counted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate_s <= 0 or not counted(scope["path"]):
            await self.app(scope, receive, send)
            return
        wait_s = self.take(self._client(scope), time.monotonic())
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait_s))
        detail = f"too many requests: at most {self.rate_s * 60:g} a minute (bursts of {self.burst:g})"
        response = JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": str(retry)})
        await response(scope, receive, send)

    def take(self, client: str, now: float) -> float:
        """Spend one token of ``client``'s bucket: 0 if there was one, else the seconds until there is."""
        tokens, then = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate_s)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate_s
        if client not in self._buckets and len(self._buckets) >= self.max_clients:
            self._forget_full(now)
        self._buckets[client] = (tokens - 1.0, now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled (they hold nothing a new bucket would not)."""
        for client, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.rate_s >= self.burst:
                del self._buckets[client]

    @staticmethod
    def _client(scope: Scope) -> str:
        state = getattr(scope["app"].state, "citewire", None)
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if state is not None and authorization and has_key(authorization, state.api_key):
            return "key"
        client = scope.get("client")
        return f"address:{client[0]}" if client else "address:unknown"
