"""MCP over streamable HTTP at ``/mcp`` of the running app, sharing its loaded parts.

The endpoint reads like /v1/query: open unless CITEWIRE_PROTECT_READS, then it needs the API key. A request a web
page sends (it carries ``Origin``) must come from the server's own origin or CITEWIRE_ALLOWED_ORIGINS, through a
host name in CITEWIRE_ALLOWED_HOSTS or an IP address: the API's rule for writes (``service.http.auth``), which the
MCP spec asks of every request (a DNS-rebound page could otherwise ask, and read the answer). The SDK's own
Host/Origin check is turned off in its favour: its lists cannot say "any IP address", so two lists would disagree.

Stateless, JSON responses: each POST stands alone, so ``--workers N`` (each its own process) serves it too, and a
plain HTTP client can call a tool with one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from service.http.auth import check_access, foreign_origin
from service.http.state import AppState
from service.mcp.server import build_server

PATH = "/mcp"


class McpEndpoint:
    """The ASGI app at ``/mcp``: the API's access checks, then the SDK's transport."""

    def __init__(self, server: MCPServer[AppState]) -> None:
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        state: AppState = request.app.state.citewire
        reason = foreign_origin(dict(request.headers), request.url.scheme, state.settings)
        if reason is not None:
            raise HTTPException(status_code=403, detail=reason)  # answered as JSON by the app's error handlers
        if state.settings.protect_reads:
            check_access(request, state.settings, state.api_key, write=False)
        await self.server.session_manager.handle_request(scope, receive, send)


def install(app: FastAPI) -> MCPServer[AppState]:
    """Route ``/mcp`` to a Citewire MCP server over ``app.state.citewire``; run ``serving`` in the app's lifespan."""

    @asynccontextmanager
    async def shared(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        yield app.state.citewire  # set by the app's lifespan before ``serving`` starts

    server = build_server(shared)
    app.router.routes.append(
        Route(PATH, McpEndpoint(server), include_in_schema=False)
    )  # all methods: GET, POST, DELETE
    return server


@asynccontextmanager
async def serving(server: MCPServer[AppState]) -> AsyncIterator[None]:
    """The SDK's session manager for one run of the app (a manager runs only once, an app's lifespan may again)."""
    server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    async with server.session_manager.run():
        yield
