"""HTTP API: FastAPI routes over the query engine and the article store.

Routes stay thin: they validate input, call the engine or the store, and shape the response.
Models load once in the app's lifespan; generation runs in FastAPI's thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from index.store import ArticleStore, StoredArticle
from service.api_models import (
    ArticleDetail,
    ArticleList,
    ArticleSummary,
    EvalJob,
    EvalRequest,
    Health,
    PassageOut,
    QueryRequest,
    QueryResponse,
)
from service.components import build_components, build_engine
from service.engine import CitewireQueryEngine
from service.evaluation.dataset import QuestionFormatError, question_from_record
from service.evaluation.jobs import evaluation_job
from service.jobs import Job, JobRunner
from service.passages import passage_window
from service.responses import to_query_response
from service.runtime import configure_for_serving
from service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: CitewireQueryEngine
    jobs: JobRunner

    @property
    def store(self) -> ArticleStore:
        return self.engine.store


def _state(request: Request) -> AppState:
    return request.app.state.citewire  # type: ignore[no-any-return]


State = Annotated[AppState, Depends(_state)]


def create_app(settings: Settings, engine: CitewireQueryEngine | None = None) -> FastAPI:
    """The ASGI app. Pass ``engine`` to reuse already loaded parts (tests, embedding in other apps)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_for_serving()
        ready = engine or build_engine(build_components(settings))
        jobs = JobRunner(settings.data_dir / "eval")
        app.state.citewire = AppState(settings=settings, engine=ready, jobs=jobs)
        yield

    app = FastAPI(
        title="Citewire",
        version="0.1.0",
        summary="Answers about news articles, every claim cited down to the quoted span.",
        lifespan=lifespan,
    )

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
        )

    @app.post("/v1/query", response_model=QueryResponse, tags=["answers"])
    def query(body: QueryRequest, state: State) -> QueryResponse:
        """Answer a question from the indexed articles, with [n] markers and their citations."""
        limit = state.settings.max_question_chars
        if len(body.question) > limit:
            raise HTTPException(status_code=422, detail=f"question is longer than {limit} characters")
        where = body.filters.to_filter() if body.filters is not None else None
        return to_query_response(state.engine.answer(body.question, body.top_k, where))

    @app.get("/v1/articles", response_model=ArticleList, tags=["articles"])
    def list_articles(state: State) -> ArticleList:
        articles = [_summary(s) for s in state.store.list()]
        return ArticleList(total=len(articles), articles=articles)

    @app.get("/v1/articles/{article_id}", response_model=ArticleDetail, tags=["articles"])
    def get_article(article_id: str, state: State) -> ArticleDetail:
        stored = _find(state, article_id)
        return ArticleDetail(
            **_summary(stored).model_dump(),
            text=stored.article.text,
            version=stored.version,
            ingested_at=stored.ingested_at,
        )

    @app.get("/v1/articles/{article_id}/passage", response_model=PassageOut, tags=["articles"])
    def get_passage(
        article_id: str,
        state: State,
        start: Annotated[int, Query(ge=0, description="Start offset of the cited span.")],
        end: Annotated[int, Query(ge=1, description="End offset (exclusive) of the cited span.")],
        context: Annotated[int, Query(ge=0, le=5000, description="Characters of context around it.")] = 300,
    ) -> PassageOut:
        """Open the exact passage behind a citation, with surrounding context."""
        stored = _find(state, article_id)
        text = stored.article.text
        if end <= start or end > len(text):
            raise HTTPException(
                status_code=422,
                detail=f"offsets out of range: need 0 <= start < end <= {len(text)}, got start={start}, end={end}",
            )
        ctx_start, ctx_end = passage_window(text, start, end, context)
        return PassageOut(
            article_id=article_id,
            title=stored.article.title,
            start=start,
            end=end,
            quote=text[start:end],
            context=text[ctx_start:ctx_end],
            context_start=ctx_start,
            context_end=ctx_end,
            highlight_start=start - ctx_start,
            highlight_end=end - ctx_start,
        )

    @app.post("/v1/eval", response_model=EvalJob, status_code=202, tags=["evaluation"])
    def start_eval(body: EvalRequest, state: State) -> EvalJob:
        """Start a batch evaluation over the indexed articles; poll GET /v1/eval/{id} for progress."""
        try:
            questions = [question_from_record(record) for record in body.questions]
        except QuestionFormatError as exc:
            raise HTTPException(status_code=422, detail=f"bad question: {exc}") from exc
        if len({q.id for q in questions}) != len(questions):
            raise HTTPException(status_code=422, detail="question ids must be unique")
        try:
            job = state.jobs.submit(body.engine, evaluation_job(state.engine, questions, body), len(questions))
        except OverflowError as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "60"}) from exc
        return _eval_job(job)

    @app.get("/v1/eval/{job_id}", response_model=EvalJob, tags=["evaluation"])
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


def _find(state: AppState, article_id: str) -> StoredArticle:
    stored = state.store.get(article_id)
    if stored is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return stored


def _summary(stored: StoredArticle) -> ArticleSummary:
    a = stored.article
    return ArticleSummary(
        id=a.id,
        title=a.title,
        source=a.source,
        url=a.url,
        published_at=a.published_at,
        section=a.section,
        lang=a.lang,
        chunk_count=stored.chunk_count,
    )
