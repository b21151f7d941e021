"""Abstention on real data with the real parts: index real news articles from RealTime QA with and
without a question's gold article, and ask it with the default model. Without the gold article the
honest answer is that the indexed articles don't say.

The other articles come from other weeks' search results: the search results for the question's own
week sometimes answer it too (another outlet's story), which would make "gold removed" answerable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.ingest import ingest_articles
from index.loaders import article_from_record
from service.answering.rules_engine import CitewireQueryEngine
from service.components import build_components, build_engine, configure_for_serving
from service.settings import Settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
EVAL_DIR = REPO_ROOT.parent / "shared" / "eval" / "realtimeqa"
QUESTION_ID = "20220617_6"  # the biggest security threat in the Asia-Pacific, per Fiji's minister -> climate change
DISTRACTORS = 25


def _records() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    if not (EVAL_DIR / "questions.jsonl").is_file():
        pytest.skip(f"the shared evaluation data is not at {EVAL_DIR}")
    questions = [json.loads(line) for line in (EVAL_DIR / "questions.jsonl").read_text().splitlines() if line]
    question = next(q for q in questions if q["id"] == QUESTION_ID)
    gold_ids = {e["article_id"] for e in question["evidence"]}
    date = QUESTION_ID.split("_")[0]
    gold, distractors = [], []
    for line in (EVAL_DIR / "articles.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["id"] in gold_ids:
            gold.append(record)
        elif not any(date in o for o in record.get("origins") or []) and len(distractors) < DISTRACTORS:
            distractors.append(record)
    return question, gold, distractors


def _engine(data_dir: Path, records: list[dict[str, Any]]) -> CitewireQueryEngine:
    components = build_components(Settings(data_dir=data_dir))
    articles = [article_from_record(r) for r in records]
    ingest_articles(articles, components.store, components.embedder, components.chunking)
    return build_engine(components)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], list[Any], list[Any]]]:
    configure_for_serving()
    yield _records()


def test_answers_when_the_gold_article_is_indexed(case: Any, tmp_path: Path) -> None:
    question, gold, distractors = case
    answer = _engine(tmp_path, gold + distractors).answer(question["question"])
    assert not answer.abstained, answer.text
    assert question["answer"].lower() in answer.text.lower()
    assert {c.passage.article.article.id for c in answer.citations} & {g["id"] for g in gold}


def test_abstains_when_the_gold_article_is_removed(case: Any, tmp_path: Path) -> None:
    question, _gold, distractors = case
    answer = _engine(tmp_path, distractors).answer(question["question"])
    assert answer.abstained, answer.text
    assert answer.citations == []
