"""The service itself: /healthz for clients and probes, and the browser page at /."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from service.http.auth import GuardedRoute
from service.http.schemas import Health
from service.http.state import State

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["service"], route_class=GuardedRoute)


@router.get("/healthz", response_model=Health)
def healthz(state: State) -> Health:
    """Whether the service is up, what it holds, its models, and how busy the model is."""
    store = state.store
    return Health(
        status="ok",
        articles=store.count_articles(),
        chunks=store.count_chunks(),
        embed_model=state.settings.embed_model,
        llm=f"{state.settings.llm_backend}:{state.settings.llm_model}",
        generating=state.responder.gate.active,
        queued=state.responder.gate.waiting,
    )


@router.get("/", include_in_schema=False)
def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")
