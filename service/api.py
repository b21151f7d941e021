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
    CitationOut,
    Health,
    PassageOut,
    QueryRequest,
    QueryResponse,
    SentenceOut,
    Timings,
)
from service.components import build_components, build_engine
from service.engine import Answer, CitewireQueryEngine
from service.passages import passage_window
from service.runtime import configure_for_serving
from service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: CitewireQueryEngine

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
        app.state.citewire = AppState(settings=settings, engine=ready)
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
        return to_query_response(state.engine.answer(body.question, body.top_k))

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

    return app


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


def to_query_response(answer: Answer) -> QueryResponse:
    citations = [
        CitationOut(
            n=c.n,
            article_id=c.passage.article.article.id,
            title=c.passage.article.article.title,
            source=c.passage.article.article.source,
            url=c.passage.article.article.url,
            published_at=c.passage.article.article.published_at,
            chunk_id=c.passage.chunk_id,
            quote=c.quote,
            start=c.start,
            end=c.end,
            score=round(c.passage.score, 4),
        )
        for c in answer.citations
    ]
    sentences = [SentenceOut(text=c.text, citations=c.markers, supported=c.supported) for c in answer.sentences]
    return QueryResponse(
        answer=answer.text,
        abstained=answer.abstained,
        citations=citations,
        sentences=sentences,
        timings_ms=Timings(**answer.timings_ms),
    )
