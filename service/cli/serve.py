"""``citewire serve``: the HTTP API under uvicorn, one process or several workers over a shared Chroma."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from service.cli.common import flag_overrides, settings_from_args
from service.settings import Settings

if TYPE_CHECKING:
    pass


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_from_args(args)
    say = _announcer(settings)
    if settings.api_key is None:
        from service.http.auth import key_path, read_or_create_key

        read_or_create_key(key_path(settings))  # made here once, not raced for by workers
        say(f"citewire: writes need the API key kept in {key_path(settings)} (`citewire key` prints it)")
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.protect_reads:
        say(f"citewire: EVERYONE who can reach {settings.host} can ask and read (CITEWIRE_PROTECT_READS closes reads)")
    if settings.workers > 1:
        return _serve_workers(args, settings)
    from service.http.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", **_logging(settings))
    return 0


def _announcer(settings: Settings) -> Callable[[str], None]:
    """How ``serve`` tells its operator something: a stderr line, or with JSON logs a warning log line
    (and no progress bars, which are not lines a log collector can read)."""
    if settings.log_format != "json":
        return lambda message: print(message, file=sys.stderr)
    import logging.config

    from service.http.observability import json_log_config

    os.environ.setdefault("TQDM_DISABLE", "1")
    from transformers.utils import logging as transformers_logging  # its bars ignore TQDM_DISABLE

    transformers_logging.disable_progress_bar()
    logging.config.dictConfig(json_log_config())
    return logging.getLogger("citewire").warning


def _logging(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging arguments: its own lines, or JSON lines with request ids (CITEWIRE_LOG_FORMAT=json)."""
    if settings.log_format != "json":
        return {}
    from service.http.observability import json_log_config

    return {"log_config": json_log_config(), "access_log": False}


def _serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    """uvicorn's worker processes, each building its app from the environment (``app_factory``)."""
    import copy

    import uvicorn

    from index.chroma import open_http_client

    open_http_client(str(settings.chroma_url))  # fails here once, not in every worker after loading its models
    os.environ.update({f"CITEWIRE_{key.upper()}": str(value) for key, value in flag_overrides(args).items()})
    if "llm_threads" not in settings.model_fields_set:
        # llama.cpp's threads spin while they wait: workers generating at once must not share cores.
        os.environ["CITEWIRE_LLM_THREADS"] = str(max(1, settings.llm_threads // settings.workers))
    # Each log line names its worker's pid: which one answered is worth knowing.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for formatter in log_config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s ", "%(levelprefix)s [%(process)d] ", 1)
    _announcer(settings)(
        f"citewire: {settings.workers} workers, each with its own models and its own generation queue "
        f"({settings.max_queued_requests} waiting at most, each)"
    )
    uvicorn.run(
        "service.http.app:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        **({"log_config": log_config} | _logging(settings)),
    )
    return 0
