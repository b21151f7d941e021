"""What every route needs: the loaded parts, reached through FastAPI's dependency injection, and access control.

With ``CITEWIRE_API_KEY`` set, write routes require ``Authorization: Bearer <key>`` (compared in
constant time) and answer 401 otherwise; with ``CITEWIRE_PROTECT_READS`` reads require it too.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index.store import ArticleStore
from service.answering.responder import Responder
from service.answering.rules_engine import CitewireQueryEngine
from service.jobs.ingestion import Ingestor
from service.jobs.queue import JobRunner
from service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: CitewireQueryEngine
    jobs: JobRunner
    responder: Responder
    ingestor: Ingestor | None  # None when the app was given an engine without its components

    @property
    def store(self) -> ArticleStore:
        return self.engine.store


def _state(request: Request) -> AppState:
    return request.app.state.citewire  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(_state)]


def _check_key(request: Request, state: AppState) -> None:
    key = state.settings.api_key
    if key is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = key.get_secret_value().encode("utf-8")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"), expected):
        raise HTTPException(
            status_code=401,
            detail="this endpoint needs the API key: 'Authorization: Bearer <CITEWIRE_API_KEY>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


# Declares the scheme in the OpenAPI schema; the header itself is checked by ``_check_key``.
_bearer = HTTPBearer(auto_error=False, description="CITEWIRE_API_KEY, when the server has one.")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_writer(request: Request, state: State, _: Bearer) -> None:
    """Dependency of every route that changes what is stored or starts work in the background."""
    _check_key(request, state)


def require_reader(request: Request, state: State) -> None:
    """Dependency of every read route: open unless CITEWIRE_PROTECT_READS is set."""
    if state.settings.protect_reads:
        _check_key(request, state)
