"""The FastAPI app: load the parts once in the lifespan, add middleware, include one router per feature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.answering.responder import Responder
from service.answering.rules_engine import CitewireQueryEngine
from service.components import Components, build_checker, build_components, build_engine, configure_for_serving
from service.http.auth import GuardedRoute, api_key_for
from service.http.errors import install_error_handlers
from service.http.limits import BodySizeLimit, RateLimit
from service.http.observability import install_observability
from service.http.routes import answers, articles, checks, evaluation, openai, service
from service.http.state import AppState
from service.jobs.ingestion import Ingestor
from service.jobs.parsing import close_parse_pool
from service.jobs.queue import JobRunner
from service.llm.gate import GenerationGate
from service.mcp import http as mcp_http
from service.settings import Settings


def create_app(
    settings: Settings, engine: CitewireQueryEngine | None = None, components: Components | None = None
) -> FastAPI:
    """The ASGI app. Pass ``engine`` (and the ``components`` it was built from, for writes) to reuse
    already loaded parts (tests, embedding in other apps)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.citewire = load_state(settings, engine, components)
        metrics.watch(app.state.citewire)
        async with mcp_http.serving(mcp):  # the MCP endpoint's session manager, over the same parts
            yield
        close_parse_pool()  # the upload parsers' worker processes, started on first use

    summary = "Answers about news articles, every claim cited down to the quoted span."
    app = FastAPI(title="Citewire", version="0.1.0", summary=summary, lifespan=lifespan)
    app.router.route_class = GuardedRoute
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
    metrics = install_observability(app)  # outermost middleware: ids and timings cover everything
    install_error_handlers(app)
    for router in (
        service.router,
        answers.router,
        checks.router,
        openai.router,
        articles.read,
        articles.write,
        evaluation.router,
    ):
        app.include_router(router)
    if service.STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=service.STATIC_DIR), name="static")
    mcp = mcp_http.install(app)
    return app


def load_state(
    settings: Settings,
    engine: CitewireQueryEngine | None = None,
    components: Components | None = None,
    writes: bool = True,
) -> AppState:
    """The parts every request reads, loaded once: by the app's lifespan, and by ``citewire mcp`` (stdio).

    ``writes=False`` for a process that only reads: no ingestor, and what a crash left (ingests to carry on,
    evaluations to mark failed) is left for ``citewire serve`` to recover."""
    configure_for_serving()
    parts = components or (build_components(settings) if engine is None else None)
    ready = engine or build_engine(parts)  # type: ignore[arg-type]
    gate = GenerationGate(settings.max_queued_requests, settings.request_timeout_s)
    keep = settings.job_retention_hours
    evaluations = JobRunner(settings.data_dir / "eval", retention_hours=keep)
    ingestor = (
        Ingestor(parts, JobRunner(settings.data_dir / "jobs", retention_hours=keep)) if parts and writes else None
    )
    if writes:
        evaluations.recover()  # an evaluation a crash cut short cannot be resumed: it is marked failed
    if ingestor is not None:
        ingestor.recover()  # sweep what a crash left in the store, then carry on the ingests it cut short
    return AppState(
        settings=settings,
        engine=ready,
        jobs=evaluations,
        responder=Responder(ready, gate),
        ingestor=ingestor,
        api_key=api_key_for(settings),
        checker=build_checker(ready, settings, gate),
    )


def app_factory() -> FastAPI:
    """The app of one worker of ``citewire serve --workers N`` (uvicorn imports it by name).

    Each worker process reads the settings from its environment (``serve`` puts its flags there)
    and loads its own models, store client and generation queue: nothing mutable is shared in
    memory, only Chroma (the server at ``CITEWIRE_CHROMA_URL``) and the data dir."""
    return create_app(Settings())  # type: ignore[call-arg]  # all have defaults; mypy runs without the pydantic plugin
