"""What the running service tells its operators: Prometheus metrics, JSON logs with request ids, and readiness.

``install_observability(app)`` adds a pure ASGI middleware (``BaseHTTPMiddleware`` buffers streams and breaks
cancellation) that ids, counts and times every request, plus ``/metrics`` and ``/readyz`` (no API key, not in the
schema). Metrics use a registry per app; labels are route templates and known methods, so cardinality stays bounded.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.answering.types import Answer
from service.http.state import AppState
from service.llm.gate import GenerationGate

log = logging.getLogger("citewire.access")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # short and safe to echo in headers and logs
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_PROBES = {"/healthz", "/readyz", "/metrics"}  # polled every few seconds: logged at DEBUG only
# Seconds: from a passage lookup (~10 ms) to a long answer on a busy CPU (minutes).
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_STAGES = ("retrieve", "generate", "verify", "total")
_OUTCOMES = ("created", "unchanged", "replaced", "deleted")

_request_id: ContextVar[str | None] = ContextVar("citewire_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context (None outside a request)."""
    return _request_id.get()


# --- logs -------------------------------------------------------------------------------------

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is logged too
# (except uvicorn's terminal-coloured copy of its message).
_RECORD_FIELDS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, then any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return jsonlib.dumps(entry, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Puts the request id on every record (``-`` outside a request), for plain-text formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id() or "-"
        return True


def configure_logging(json: bool = True, level: str = "info") -> None:
    """Send every log line, uvicorn's too, to stderr: JSON lines, or plain text carrying the request id.

    Call it before the server starts and run uvicorn with ``log_config=None`` (or it installs its own
    handlers) and ``access_log=False`` (the middleware writes richer access lines, logger ``citewire.access``).
    """
    handler = logging.StreamHandler()
    if json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def json_log_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``: every line (uvicorn's, Citewire's)
    one JSON object on stderr. A dict, not a call, so uvicorn's worker processes apply it too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.http.observability.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")}
        | {"uvicorn.access": {"handlers": [], "propagate": False}},  # the middleware's access lines are richer
    }


# --- metrics ----------------------------------------------------------------------------------


class _LiveGauges:
    """The generation queue, read from the gate at scrape time (it is the gate's state, not an event count)."""

    def __init__(self) -> None:
        self.gate: GenerationGate | None = None

    def collect(self) -> Iterable[Metric]:
        gate = self.gate
        yield GaugeMetricFamily(
            "citewire_generation_queue_depth", "Requests waiting for the model.", value=gate.waiting if gate else 0
        )
        yield GaugeMetricFamily(
            "citewire_generations_active", "Answers being generated now.", value=gate.active if gate else 0
        )


class Metrics:
    """One app's metrics. It observes the app's Responder (answers, tokens) and Ingestor (article writes)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "citewire_http_requests",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "citewire_http_request_duration_seconds",
            "Time to the end of the response (a stream's included), by route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.answer_seconds = Histogram(
            "citewire_answer_seconds", "Answer time by stage (those that ran).", ["stage"], buckets=_BUCKETS, registry=r
        )
        self.answers = Counter("citewire_answers", "Answers finished, cited or abstained.", ["outcome"], registry=r)
        self.tokens = Counter(
            "citewire_generated_tokens", "Pieces the model streamed (about a token each).", registry=r
        )
        self.writes = Counter(
            "citewire_article_writes", "What article writes did, by outcome.", ["outcome"], registry=r
        )
        for stage in _STAGES:  # present from the start, so a dashboard sees zeros rather than nothing
            self.answer_seconds.labels(stage)
        for outcome in ("cited", "abstained"):
            self.answers.labels(outcome)
        for outcome in _OUTCOMES:
            self.writes.labels(outcome)
        self.live = _LiveGauges()
        r.register(self.live)
        ProcessCollector(registry=r)  # CPU and resident memory: a model server's first suspects

    def watch(self, state: AppState) -> None:
        """Hear about this state's answers and article writes, and read its generation gate when scraped."""
        state.responder.observer = self
        if state.ingestor is not None:
            state.ingestor.observer = self
        self.live.gate = state.responder.gate

    def piece(self) -> None:
        self.tokens.inc()

    def answered(self, answer: Answer) -> None:
        self.answers.labels("abstained" if answer.abstained else "cited").inc()
        for stage, ms in answer.timings_ms.items():
            if stage in _STAGES and ms > 0:  # 0: the stage did not run (no generation before an abstention)
                self.answer_seconds.labels(stage).observe(ms / 1000)

    def wrote(self, outcome: str) -> None:
        self.writes.labels(outcome).inc()

    def exposition(self) -> bytes:
        """The text format for ``/metrics``; with several workers, all of their counts summed."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(self.live)
        return generate_latest(registry)


# --- requests ---------------------------------------------------------------------------------


class RequestObserver:
    """ASGI middleware: a request id for every request (echoed in ``X-Request-ID``), its metrics and access line.

    The id is the client's ``X-Request-ID`` when it is short and safe, else a new uuid4 hex. It sits in
    a context variable for the whole request, so every log line written meanwhile carries it.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status: int | None = None  # set when the response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette's outermost error middleware would answer this 500 outside of this one, without
            # the id; answer it here (as the app's handler does) and re-raise so the server logs the traceback.
            if status is None:
                await JSONResponse({"detail": "internal error"}, status_code=500)(scope, receive, send_with_id)
            raise
        finally:
            # No response at all: the request was cancelled (the server shut down); count it as a 500.
            self._finished(scope, request_id, status or 500, time.perf_counter() - started)
        # Reset only on success: after an error the id stays set, so the server's traceback line carries it
        # (the server runs each request in a task of its own, whose context ends with it).
        _request_id.reset(token)

    def _finished(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        # The matched route's template; "unmatched" when no route took it (404, or refused before routing).
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        duration_ms = round(seconds * 1000, 1)
        log.log(
            logging.DEBUG if route in _PROBES else logging.INFO,
            "%s %s %d %.1f ms",
            scope["method"],
            scope["path"],
            status,
            duration_ms,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
            },
        )


# --- readiness --------------------------------------------------------------------------------


def readiness(state: AppState | None) -> tuple[int, dict[str, Any]]:
    """(status, body) for ``/readyz``: 200 once the models are built and the store answers, else 503.

    The lifespan builds everything before the server takes requests (the embedder, and the LLM: a
    GGUF is loaded when ``LlamaCppChat`` is built, not at the first answer), so a missing state means
    still starting or embedded without the lifespan. A remote LLM (``openai`` backend) is not probed:
    this says whether this process can serve, and an outage there shows as errors on the answers.
    """
    if state is None:
        return 503, {"ready": False, "detail": "starting: the models and the store are not loaded yet"}
    engine = state.engine
    if engine.llm is None or engine.embed_model is None:
        return 503, {"ready": False, "detail": "the models are not loaded"}
    try:
        articles, chunks = state.store.count_articles(), state.store.count_chunks()
    except Exception as exc:
        logging.getLogger(__name__).warning("readiness: the store does not answer", exc_info=True)
        return 503, {"ready": False, "detail": f"the store does not answer: {type(exc).__name__}"}
    settings = state.settings
    return 200, {
        "ready": True,
        "articles": articles,
        "chunks": chunks,
        "embed_model": settings.embed_model,
        "llm": f"{settings.llm_backend}:{settings.llm_model}",
    }


def install_observability(app: FastAPI) -> Metrics:
    """Add request ids, metrics and access lines (outermost middleware so far), ``/metrics`` and ``/readyz``.

    Returns the app's metrics: the lifespan calls ``metrics.watch(state)`` once it has built the state.
    """
    metrics = Metrics()
    app.add_middleware(RequestObserver, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        status, body = readiness(getattr(request.app.state, "citewire", None))
        return JSONResponse(body, status_code=status)

    return metrics
