"""MCP over this process's stdin and stdout (``citewire mcp``): the parts load in-process, as ``serve`` loads them.

They load inside the server's lifespan, once the SDK holds stdout (it points fd 1 at stderr while it serves): a
stray print while the models load cannot corrupt the protocol stream. The client's ``initialize`` is answered once
they have loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from mcp.server.mcpserver import MCPServer

from service.http.app import load_state
from service.http.state import AppState
from service.mcp.server import build_server
from service.settings import Settings


async def serve_stdio(settings: Settings) -> None:
    """Serve until the client closes stdin."""

    @asynccontextmanager
    async def loaded(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        # Reads only: the ingests and evaluations a crash left are ``citewire serve``'s to recover.
        yield await anyio.to_thread.run_sync(lambda: load_state(settings, writes=False))

    await build_server(loaded).run_stdio_async()
