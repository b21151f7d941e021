"""Shared fixtures: the seed article and the real embedder (loaded once per session)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from index.embedding import Embedder

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_PATH = REPO_ROOT / "seeds" / "000_070c77320a5da855.txt"


@pytest.fixture
def seed_path() -> Path:
    return SEED_PATH


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    from index.embedding import load_embedder  # imported lazily: torch is slow to load

    return load_embedder("minilm")
