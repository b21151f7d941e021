"""The articles API: list, read, open a passage, and (with the API key, if one is set) add, upload,
replace and delete. Batches larger than ``CITEWIRE_SYNC_INGEST_ARTICLES`` run as a job (202)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from citewire.schemas import ArticleDetail, ArticleList, ArticleSummary, PassageOut
from index.articles import Article, is_safe_id
from index.loaders import ArticleFormatError, article_from_record
from index.records import StoredArticle
from service.answering.passages import passage_window
from service.http.auth import GuardedRoute
from service.http.schemas import (
    ArticleBatchIn,
    ArticleIn,
    ArticleResult,
    Deleted,
    IngestJob,
    IngestResult,
    QueryFilters,
    problems,
)
from service.http.state import AppState, State, require_reader, require_writer
from service.jobs.ingestion import Ingestor, summarize
from service.jobs.parsing import ParseCrashedError, ParseTimeoutError, parse_upload
from service.jobs.queue import Job

read = APIRouter(
    tags=["articles"], dependencies=[Depends(require_reader)], responses=problems(401), route_class=GuardedRoute
)
write = APIRouter(
    tags=["articles"],
    dependencies=[Depends(require_writer)],
    responses=problems(400, 401, 413, 422, 503),
    route_class=GuardedRoute,
)
_ASYNC: dict[int | str, dict[str, Any]] = {
    202: {"model": IngestJob, "description": "A large batch, stored in the background."}
}


@read.get("/v1/articles", response_model=ArticleList, responses=problems(422))
def list_articles(
    state: State,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    source: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    published_after: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    published_before: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
) -> ArticleList:
    """Indexed articles, newest first, a page at a time; filters as on /v1/query."""
    try:
        where = QueryFilters(
            source=source,
            published_after=published_after,
            published_before=published_before,
            article_ids=None,
            as_of=None,
        ).to_filter()
    except ValidationError as exc:
        errors = [{"type": e["type"], "loc": ["query", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        raise HTTPException(status_code=422, detail=errors) from None
    matching = [s for s in state.store.list() if where.matches(s.article.id, s.article.source, s.article.published_at)]
    page = [summary(s) for s in matching[offset : offset + limit]]
    return ArticleList(total=len(matching), offset=offset, limit=limit, articles=page)


@read.get("/v1/articles/{article_id}", response_model=ArticleDetail, responses=problems(404))
def get_article(article_id: str, state: State) -> ArticleDetail:
    """One article: its metadata and its whole text, the text citation offsets point into."""
    stored = find(state, article_id)
    return ArticleDetail(
        **summary(stored).model_dump(), text=stored.article.text, version=stored.version, ingested_at=stored.ingested_at
    )


@read.get("/v1/articles/{article_id}/passage", response_model=PassageOut, responses=problems(404, 422))
def get_passage(
    article_id: str,
    state: State,
    start: Annotated[int, Query(ge=0, description="Start offset of the cited span.")],
    end: Annotated[int, Query(ge=1, description="End offset (exclusive) of the cited span.")],
    context: Annotated[int, Query(ge=0, le=5000, description="Characters of context around it.")] = 300,
) -> PassageOut:
    """Open the exact passage behind a citation, with surrounding context."""
    stored = find(state, article_id)
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


@read.get("/v1/jobs/{job_id}", response_model=IngestJob, responses=problems(404, 503))
def get_job(job_id: str, state: State) -> IngestJob:
    """Progress of a large ingest; the per-article results so far, and the counts once done."""
    job = _ingestor(state).jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no ingest job with id {job_id!r}")
    return _job(job)


@write.post("/v1/articles", response_model=IngestResult, responses=_ASYNC)
async def add_articles(body: ArticleIn | ArticleBatchIn, state: State) -> JSONResponse:
    """Store one article, or a batch (``{"articles": [...]}``); says what happened to each."""
    items = body.articles if isinstance(body, ArticleBatchIn) else [body]
    _check_batch(state, len(items))
    # In a thread: language detection takes ~10 ms an article, seconds for a full batch.
    return await _store(state, await run_in_threadpool(lambda: [_article(state, item) for item in items]))


@write.post("/v1/articles/upload", response_model=IngestResult, responses=_ASYNC)
async def upload_articles(state: State, files: Annotated[list[UploadFile], File()]) -> JSONResponse:
    """Upload .txt, .md, .html or .jsonl files (multipart field ``files``); each file name is only a label.

    Each file is parsed in a worker process within ``parse_timeout_s`` (a hostile page never stalls the
    server), and reading stops at one article over ``max_batch_articles``, counted across the files."""
    articles: list[Article] = []
    for upload in files:
        name = PurePath((upload.filename or "upload.txt").replace("\\", "/")).name or "upload.txt"
        data = await upload.read(state.settings.max_upload_bytes + 1)
        if len(data) > state.settings.max_upload_bytes:
            raise HTTPException(status_code=413, detail=f"{name}: larger than {state.settings.max_upload_bytes} bytes")
        try:
            articles += await parse_upload(
                name,
                data,
                timeout_s=state.settings.parse_timeout_s,
                max_articles=state.settings.max_batch_articles - len(articles),
            )
        except (ArticleFormatError, ParseTimeoutError, ParseCrashedError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        _check_batch(state, len(articles))
    for article in articles:
        _check_length(state, article.text)
    return await _store(state, articles)


@write.put("/v1/articles/{article_id}", response_model=ArticleResult)
async def replace_article(article_id: str, body: ArticleIn, state: State) -> ArticleResult:
    """Store this article under this id: created, replaced (changed text or metadata) or unchanged."""
    if not is_safe_id(article_id):
        raise HTTPException(status_code=422, detail="article id must be letters, digits, '_', '.', ':' or '-'")
    if body.id is not None and body.id != article_id:
        raise HTTPException(status_code=422, detail=f"body id {body.id!r} differs from the path's {article_id!r}")
    article = await run_in_threadpool(_article, state, body.model_copy(update={"id": article_id}))
    (result,) = await run_in_threadpool(_ingestor(state).ingest, [article])
    return ArticleResult(**result)


@write.delete("/v1/articles/{article_id}", response_model=Deleted, responses=problems(404))
async def delete_article(article_id: str, state: State) -> Deleted:
    """Remove an article and its chunks from both indexes (404 if it is not stored)."""
    if not await run_in_threadpool(_ingestor(state).delete, article_id):
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return Deleted(id=article_id, deleted=True)


def find(state: AppState, article_id: str) -> StoredArticle:
    stored = state.store.get(article_id)
    if stored is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return stored


def summary(stored: StoredArticle) -> ArticleSummary:
    a = stored.article
    return ArticleSummary(
        id=a.id,
        title=a.title,
        source=a.source,
        url=a.url,
        published_at=a.published_at,
        section=a.section,
        author=a.author,
        lang=a.lang,
        chunk_count=stored.chunk_count,
    )


def _ingestor(state: AppState) -> Ingestor:
    if state.ingestor is None:
        raise HTTPException(status_code=503, detail="this server was started without an embedder: no writes")
    return state.ingestor


def _check_batch(state: AppState, n: int) -> None:
    if n > state.settings.max_batch_articles:
        raise HTTPException(
            status_code=413, detail=f"more than {state.settings.max_batch_articles} articles in one request"
        )


def _check_length(state: AppState, text: str) -> None:
    if len(text) > state.settings.max_article_chars:
        raise HTTPException(
            status_code=413, detail=f"an article is longer than {state.settings.max_article_chars} characters"
        )


def _article(state: AppState, item: ArticleIn) -> Article:
    _check_length(state, item.text)
    try:
        return article_from_record(item.model_dump(exclude_none=True))
    except ArticleFormatError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


async def _store(state: AppState, articles: list[Article]) -> JSONResponse:
    ingestor = _ingestor(state)
    if not articles:
        raise HTTPException(status_code=422, detail="no articles in the request")
    if len(articles) > state.settings.sync_ingest_articles:
        try:  # the articles are saved to the data dir before the 202
            job = await run_in_threadpool(ingestor.submit, articles)
        except OverflowError as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "60"}) from exc
        except OSError as exc:
            raise HTTPException(status_code=503, detail=f"the job could not be saved: {exc.strerror}") from exc
        return JSONResponse(status_code=202, content=_job(job).model_dump())
    results = await run_in_threadpool(ingestor.ingest, articles)
    return JSONResponse(content=IngestResult(results=results, counts=summarize(results)).model_dump())  # type: ignore[arg-type]


def _job(job: Job) -> IngestJob:
    return IngestJob(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        done=job.done,
        total=job.total,
        error=job.error,
        counts=job.summary,
        results=[ArticleResult(**r) for r in job.results],
    )
