"""What every route needs: the loaded parts, reached through FastAPI's dependency injection, and access control.

Routes declare whether they write or read with the ``require_writer`` / ``require_reader`` dependency;
``service.http.auth`` enforces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from index.store import ArticleStore
from service.answering.responder import Responder
from service.answering.rules_engine import CitewireQueryEngine
from service.checking.checker import ClaimChecker
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
    api_key: SecretStr
    checker: ClaimChecker

    @property
    def store(self) -> ArticleStore:
        return self.engine.store


def _state(request: Request) -> AppState:
    return request.app.state.citewire  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(_state)]


# Declares the scheme in the OpenAPI schema; the header itself is checked by ``service.http.auth.AccessGuard``,
# before the body is read (a dependency runs only after FastAPI has read and parsed it).
_bearer = HTTPBearer(auto_error=False, description="The API key: CITEWIRE_API_KEY, or the one in <data_dir>/api_key.")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_writer(_: Bearer) -> None:
    """Marks a route that changes what is stored or starts background work: the key and origin are checked."""


def require_reader() -> None:
    """Marks a read route: open unless CITEWIRE_PROTECT_READS is set, then the key is checked (undeclared in the
    schema, which would otherwise call the key required for every read)."""
