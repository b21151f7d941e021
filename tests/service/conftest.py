"""Fixtures for the service tests: a clean CITEWIRE_ environment and the session embedder reused by the CLI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from index.embedding import Embedder


@pytest.fixture(autouse=True)
def _no_citewire_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the CITEWIRE_ variables they set themselves."""
    for key in list(os.environ):
        if key.upper().startswith("CITEWIRE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def reuse_embedder(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> Embedder:
    """Make build_components hand out the already loaded session embedder instead of loading another."""
    monkeypatch.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
    return embedder


@pytest.fixture
def seed_dir(tmp_path: Path, seed_path: Path) -> Path:
    """A folder holding only the seed article (a copy, so new files in seeds/ do not change counts)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(seed_path, folder / seed_path.name)
    return folder


@pytest.fixture(scope="module")
def restore_torch_threads() -> Iterator[None]:
    """The app's lifespan pins torch to one thread for serving; give later tests their threads back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
