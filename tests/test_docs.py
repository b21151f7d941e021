"""The docs name only files that exist, and stay short enough to read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A repository path as the docs write it: in backticks or a markdown link, under a top-level folder.
PATH = re.compile(r"(?:`|\]\(|\.\./)((?:citewire|service|index|bench|tests|prompts|seeds|docs)/[\w./-]*\w)")


@pytest.mark.parametrize(
    "doc",
    [
        "README.md",
        "docs/ARCHITECTURE.md",
        "docs/ARTICLES.md",
        "docs/DEPLOY.md",
        "docs/MCP.md",
        "docs/CLIENT.md",
        "docs/CHECKS.md",
    ],
)
def test_every_path_a_doc_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = sorted({p for p in PATH.findall(text) if not (ROOT / p).exists() and "results" not in p})
    assert missing == []


def test_every_module_is_on_the_architecture_map() -> None:
    text = (ROOT / "docs/ARCHITECTURE.md").read_text(encoding="utf-8")
    for path in [*ROOT.glob("citewire/*.py"), *ROOT.glob("service/**/*.py"), *ROOT.glob("index/*.py")]:
        assert path.name in text, f"{path.relative_to(ROOT)} is not on docs/ARCHITECTURE.md's map"


@pytest.mark.parametrize(
    ("doc", "limit"), [("README.md", 10_000), ("docs/EVALUATION.md", 15_000), ("docs/BENCHMARKS.md", 18_000)]
)
def test_docs_stay_short(doc: str, limit: int) -> None:
    assert len((ROOT / doc).read_text(encoding="utf-8")) <= limit
