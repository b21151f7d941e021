"""HTTP API: FastAPI routes over the query engine and the article store.

Routes stay thin: they validate input, call the engine or the store, and shape the response.
Models load once in the app's lifespan; generation runs in FastAPI's thread pool.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from service.answering.chat import Turn
from service.answering.responder import AnswerRequest, GenerationTimeout, Prepared, Responder
from service.answering.rules_engine import CitewireQueryEngine
from service.answering.schemas import QueryResponse, SearchResponse, to_query_response, to_search_response
from service.answering.types import Answer
from service.components import Components, build_components, build_engine, configure_for_serving
from service.evaluation.dataset import QuestionFormatError, question_from_record
from service.evaluation.jobs import EvalOptions, evaluation_job
from service.http import openai_compat
from service.http.bodies import UnicodeCheckedRoute
from service.http.limits import BodySizeLimit
from service.http.observability import install_observability
from service.http.routes import articles as articles_api
from service.http.schemas import (
    STREAMED,
    ChatRequest,
    ChatResponse,
    EvalJob,
    EvalRequest,
    Health,
    QueryRequest,
    SearchRequest,
    problems,
)
from service.http.state import AppState, State, require_reader, require_writer
from service.http.streaming import GenerationStream, answer_events, finished
from service.jobs.ingestion import Ingestor
from service.jobs.queue import Job, JobRunner
from service.llm.gate import Busy, GenerationGate
from service.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
# What the answering routes can answer besides 200: declared in the OpenAPI schema.
_ANSWER_RESPONSES = {**STREAMED, **problems(400, 401, 413, 422, 503, 504)}
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _check_length(state: AppState, question: str) -> None:
    limit = state.settings.max_question_chars
    if len(question) > limit:
        raise HTTPException(status_code=422, detail=f"question is longer than {limit} characters")


async def _prepare(state: AppState, request: AnswerRequest) -> Prepared:
    try:
        return await run_in_threadpool(state.responder.prepare, request)
    except Busy as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from exc


async def _run(state: AppState, prepared: Prepared) -> Answer:
    try:
        answer = await run_in_threadpool(state.responder.run, prepared)
    except GenerationTimeout as exc:
        raise HTTPException(status_code=504, detail=str(exc)) from exc
    assert answer is not None  # only a stop event ends a run without an answer
    return answer


def _events(state: AppState, prepared: Prepared) -> AsyncIterator[tuple[str, Any]]:
    if prepared.answer is not None:
        return _single(prepared.answer)
    return GenerationStream(state.responder, prepared).events()


async def _single(answer: Answer) -> AsyncIterator[tuple[str, Any]]:
    yield "final", answer


async def _deliver(state: AppState, prepared: Prepared, stream: bool, shape: Any) -> Any:
    """The JSON response, or the SSE stream of it."""
    if not stream:
        return shape(await _run(state, prepared))
    if prepared.answer is not None:
        return StreamingResponse(finished(prepared.answer, shape), media_type="text/event-stream", headers=_SSE_HEADERS)
    events = answer_events(GenerationStream(state.responder, prepared), shape)
    return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)


async def _respond(state: AppState, request: AnswerRequest, stream: bool, shape: Any) -> Any:
    return await _deliver(state, await _prepare(state, request), stream, shape)


def _chat_response(answer: Answer, prepared: Prepared) -> ChatResponse:
    return ChatResponse(**to_query_response(answer).model_dump(), standalone_question=prepared.standalone_question)


def create_app(
    settings: Settings, engine: CitewireQueryEngine | None = None, components: Components | None = None
) -> FastAPI:
    """The ASGI app. Pass ``engine`` (and the ``components`` it was built from, for writes) to reuse
    already loaded parts (tests, embedding in other apps)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_for_serving()
        parts = components or (build_components(settings) if engine is None else None)
        ready = engine or build_engine(parts)  # type: ignore[arg-type]
        gate = GenerationGate(settings.max_queued_requests, settings.request_timeout_s)
        ingestor = Ingestor(parts, JobRunner(settings.data_dir / "jobs")) if parts is not None else None
        app.state.citewire = AppState(
            settings=settings,
            engine=ready,
            jobs=JobRunner(settings.data_dir / "eval"),
            responder=Responder(ready, gate),
            ingestor=ingestor,
        )
        metrics.watch(app.state.citewire)
        yield

    app = FastAPI(
        title="Citewire",
        version="0.1.0",
        summary="Answers about news articles, every claim cited down to the quoted span.",
        lifespan=lifespan,
    )
    app.router.route_class = UnicodeCheckedRoute
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    metrics = install_observability(app)  # outermost middleware: ids and timings cover everything
    app.include_router(articles_api.read)
    app.include_router(articles_api.write)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input back, which fails to render for NaN or a lone
        # surrogate and turns a client error into a 500; the location and message are enough.
        errors = [{"type": e["type"], "loc": [str(x) for x in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never leak a traceback to a client; the server log has it.
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz(state: State) -> Health:
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

    reader = [Depends(require_reader)]

    @app.post(
        "/v1/query", response_model=QueryResponse, tags=["answers"], dependencies=reader, responses=_ANSWER_RESPONSES
    )
    async def query(body: QueryRequest, state: State) -> Any:
        """Answer a question from the indexed articles, with [n] markers and their citations.

        With ``"stream": true``: Server-Sent Events, 'token' events as the model writes, then one
        'final' event holding this same response, checked (the streamed words are the model's draft)."""
        _check_length(state, body.question)
        where = body.filters.to_filter() if body.filters is not None else None
        request = AnswerRequest(body.question, top_k=body.top_k, where=where, choices=body.choices or ())

        def shape(answer: Answer) -> dict[str, Any]:
            return to_query_response(answer).model_dump()

        return await _respond(state, request, body.stream, shape)

    @app.post(
        "/v1/chat", response_model=ChatResponse, tags=["answers"], dependencies=reader, responses=_ANSWER_RESPONSES
    )
    async def chat(body: ChatRequest, state: State) -> Any:
        """Answer the last question of a conversation; a follow-up is first rewritten to stand alone.

        ``standalone_question`` tells what was searched. ``"stream": true`` works as on /v1/query."""
        question = body.messages[-1].content
        _check_length(state, question)
        where = body.filters.to_filter() if body.filters is not None else None
        history = [Turn(role=m.role, content=m.content) for m in body.messages[:-1]]
        request = AnswerRequest(question, history, body.top_k, where)
        prepared = await _prepare(state, request)

        def shape(answer: Answer) -> dict[str, Any]:
            return _chat_response(answer, prepared).model_dump()

        return await _deliver(state, prepared, body.stream, shape)

    @app.post(
        "/v1/search",
        response_model=SearchResponse,
        tags=["answers"],
        dependencies=reader,
        responses=problems(400, 401, 413, 422),
    )
    def search(body: SearchRequest, state: State) -> SearchResponse:
        """The passages an answer would be drawn from, best first, without asking the model.

        Runs beside generation, never queued behind it: retrieval takes milliseconds."""
        _check_length(state, body.question)
        where = body.filters.to_filter() if body.filters is not None else None
        started = time.perf_counter()
        passages = state.engine.find_passages(body.question, body.top_k, where)
        return to_search_response(passages, (time.perf_counter() - started) * 1000)

    @app.post(
        "/v1/chat/completions",
        response_model=openai_compat.ChatCompletion,
        tags=["openai"],
        dependencies=reader,
        responses=_ANSWER_RESPONSES,
    )
    async def chat_completions(body: openai_compat.OpenAIChatRequest, state: State) -> Any:
        """OpenAI-compatible chat completions (stream or not); citations in the text and in ``citewire``."""
        question, history = body.conversation()
        _check_length(state, question)
        prepared = await _prepare(state, AnswerRequest(question, history))
        if not body.stream:
            answer = await _run(state, prepared)
            return openai_compat.completion(_chat_response(answer, prepared), body.model)

        async def chunks(events: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[str]:
            async for kind, data in events:
                if kind == "token":
                    yield ": generating\n\n"  # a comment: keeps the connection alive, clients skip it
                elif kind == "final":
                    for chunk in openai_compat.stream_chunks(_chat_response(data, prepared), body.model):
                        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
                else:
                    yield f"data: {json.dumps({'error': {'message': data, 'type': 'server_error'}})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(_events(state, prepared)), media_type="text/event-stream", headers=_SSE_HEADERS)

    @app.get(
        "/v1/models",
        response_model=openai_compat.ModelList,
        tags=["openai"],
        dependencies=[Depends(require_reader)],
        responses=problems(401),
    )
    def list_models() -> dict[str, Any]:
        """The one model name /v1/chat/completions answers as (any name a client sends is accepted)."""
        return openai_compat.models()

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.post(
        "/v1/eval",
        response_model=EvalJob,
        status_code=202,
        tags=["evaluation"],
        dependencies=[Depends(require_writer)],
        responses=problems(400, 401, 413, 422, 503),
    )
    def start_eval(body: EvalRequest, state: State) -> EvalJob:
        """Start a batch evaluation over the indexed articles; poll GET /v1/eval/{id} for progress."""
        try:
            questions = [question_from_record(record) for record in body.questions]
        except QuestionFormatError as exc:
            raise HTTPException(status_code=422, detail=f"bad question: {exc}") from exc
        if len({q.id for q in questions}) != len(questions):
            raise HTTPException(status_code=422, detail="question ids must be unique")
        try:
            job = state.jobs.submit(
                body.engine,
                evaluation_job(state.engine, questions, _eval_options(body)),
                len(questions),
            )
        except OverflowError as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "60"}) from exc
        return _eval_job(job)

    @app.get(
        "/v1/eval/{job_id}",
        response_model=EvalJob,
        tags=["evaluation"],
        dependencies=[Depends(require_reader)],
        responses=problems(401, 404),
    )
    def get_eval(job_id: str, state: State) -> EvalJob:
        job = state.jobs.get(job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no evaluation job with id {job_id!r}")
        return _eval_job(job)

    return app


def _eval_job(job: Job) -> EvalJob:
    return EvalJob(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        engine=job.kind,
        done=job.done,
        total=job.total,
        error=job.error,
        metrics=job.summary,
        results=list(job.results),
    )


def app_factory() -> FastAPI:
    """The app of one worker of ``citewire serve --workers N`` (uvicorn imports it by name).

    Each worker process reads the settings from its environment (``serve`` puts its flags there)
    and loads its own models, store client and generation queue: nothing mutable is shared in
    memory, only Chroma (the server at ``CITEWIRE_CHROMA_URL``) and the data dir."""
    return create_app(Settings())  # type: ignore[call-arg]  # all have defaults; mypy runs without the pydantic plugin


def _eval_options(body: EvalRequest) -> EvalOptions:
    return EvalOptions(**body.model_dump(exclude={"questions"}))
