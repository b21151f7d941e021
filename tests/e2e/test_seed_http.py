"""End to end over HTTP with the real parts: the CLI ingests seeds/ into a temporary Chroma store,
``citewire serve`` runs uvicorn with the default Qwen2.5 1.5B model and MiniLM, and questions about
the seed article go through POST /v1/query like a user's would."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.servers import citewire, seeded_server

pytestmark = pytest.mark.slow
MARKER = re.compile(r"\[(\d+)\]")

# (question, a pattern the answer must contain) — all answerable from the seed article.
ANSWERABLE = [
    ("Which newspaper reviewed the White House memo?", r"Financial Times"),
    ("Who did Donald Trump meet in South Korea before the memo appeared?", r"Xi Jinping"),
    ("How many Chinese companies did American politicians urge the White House to cut off?", r"\b25\b"),
    ("What did the Chinese Embassy in Washington accuse the U.S. of?", r"distorting facts"),
    ("What kind of data did Alibaba allegedly give the Chinese government and military access to?", r"IP addresses"),
    ("Which AI model does Alibaba own?", r"Qwen"),
    ("How did Alibaba respond to the claims?", r"nonsense|den(y|ied)"),
]
UNANSWERABLE = [
    "Who won the 2022 FIFA World Cup final?",
    "What is the name of Alibaba's chief executive?",
    "What did the European Union decide about Alibaba?",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("citewire-data")) as base:
        yield base


def ask(base: str, question: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/v1/query", json={"question": question}, timeout=300)
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_citations_check_out(base: str, body: dict[str, Any]) -> None:
    """Every marker names a citation, and every quote is the article's text at its offsets."""
    numbers = {c["n"] for c in body["citations"]}
    assert {int(n) for n in MARKER.findall(body["answer"])} == numbers
    for citation in body["citations"]:
        article = httpx.get(f"{base}/v1/articles/{citation['article_id']}", timeout=30).json()
        assert article["text"][citation["start"] : citation["end"]] == citation["quote"]
        passage = httpx.get(
            f"{base}/v1/articles/{citation['article_id']}/passage",
            params={"start": citation["start"], "end": citation["end"]},
            timeout=30,
        ).json()
        assert passage["quote"] == citation["quote"]
        assert passage["context"][passage["highlight_start"] : passage["highlight_end"]] == citation["quote"]


def test_health_reports_the_seed(server: str) -> None:
    health = httpx.get(f"{server}/healthz", timeout=30).json()
    assert health["status"] == "ok"
    assert health["articles"] == 1
    assert health["chunks"] >= 3


@pytest.mark.parametrize(("question", "expected"), ANSWERABLE)
def test_answers_with_checked_citations(server: str, question: str, expected: str) -> None:
    body = ask(server, question)
    assert body["abstained"] is False, body
    assert re.search(expected, body["answer"], re.IGNORECASE), body["answer"]
    assert body["citations"], body
    assert_citations_check_out(server, body)
    timings = body["timings_ms"]
    assert 0 < timings["retrieve"] <= timings["total"]
    assert 0 < timings["generate"] <= timings["total"]


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_article_does_not_say(server: str, question: str) -> None:
    body = ask(server, question)
    assert body["abstained"] is True, body
    assert body["citations"] == []
    assert "don't answer" in body["answer"]
    assert not MARKER.search(body["answer"])


def test_cli_ask_prints_answer_and_citations(tmp_path: Path) -> None:
    """`citewire ask` against its own store: the answer, then numbered citations with quotes."""
    data_dir = tmp_path / "data"
    subprocess.run(citewire("ingest", str(REPO_ROOT / "seeds"), "--data-dir", str(data_dir), "--quiet"), check=True)
    result = subprocess.run(
        citewire("ask", "Who did Donald Trump meet in South Korea?", "--data-dir", str(data_dir)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Xi Jinping" in result.stdout
    assert re.search(r"^\[1\] Chinese giant Alibaba accused by Washington \(BB\.LV, 2025-11-18\)", result.stdout, re.M)
