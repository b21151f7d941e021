"""Process-level set-up for serving: thread counts, and the app factory of each uvicorn worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from service.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def configure_for_serving() -> None:
    """Pin torch to one thread in the server.

    A query embeds a dozen tokens, where extra threads only add hand-off cost; and llama.cpp is given
    the cores explicitly for generation, so torch's spinning workers would steal them from it. With
    one thread, query embedding stays ~12 ms and steady (measured; see docs/BENCHMARKS.md).
    """
    torch.set_num_threads(1)


def app_factory() -> FastAPI:
    """The app of one worker of ``citewire serve --workers N`` (uvicorn imports it by name).

    Each worker process reads the settings from its environment (``serve`` puts its flags there)
    and loads its own models, store client and generation queue: nothing mutable is shared in
    memory, only Chroma (the server at ``CITEWIRE_CHROMA_URL``) and the data dir."""
    from service.api import create_app  # service.api imports this module

    return create_app(Settings())  # type: ignore[call-arg]  # all have defaults; mypy runs without the pydantic plugin
