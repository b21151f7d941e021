"""Tests for ``citewire eval`` (service/cli/) with the real embedder and a scripted LLM:
argument checks, and a full run of both engines writing results, report and the summary table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from index.embedding import Embedder
from service.cli import main
from tests.service.fakes import ScriptedLLM

ARTICLES = [
    {"id": "bridge", "title": "Springfield approves river bridge", "text": "The Springfield city council approved a "
     "new bridge over the Blue River on Monday. The bridge will cost 12 million dollars and open in 2026."},
    {"id": "library", "title": "Shelbyville library reopens", "text": "The Shelbyville public library reopened on "
     "Saturday after a two-year renovation. Its new reading room seats 300 people."},
]  # fmt: skip
QUESTIONS = [
    {"id": "q1", "question": "How much will the Springfield bridge cost?", "answer": "12 million dollars",
     "evidence": [{"article_id": "bridge"}], "extra": "ignored"},
    {"id": "q2", "question": "How many people does the Shelbyville reading room seat?", "answer": "300",
     "evidence": [{"article_id": "library"}]},
]  # fmt: skip


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_corpus_needs_an_explicit_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = _jsonl(tmp_path / "q.jsonl", QUESTIONS)
    code = main(["eval", str(questions), "--corpus", "x.jsonl", "--out", "o.jsonl", "--report", "r.html"])
    assert code == 2
    assert "--data-dir" in capsys.readouterr().err


def test_bad_questions_file_is_reported_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps(QUESTIONS[0]) + "\n{broken\n", encoding="utf-8")
    code = main(["eval", str(questions), "--data-dir", str(tmp_path / "d"), "--out", "o.jsonl", "--report", "r.html"])
    assert code == 2
    assert f"{questions}:2:" in capsys.readouterr().err


@pytest.fixture
def scripted_llm(monkeypatch: pytest.MonkeyPatch, reuse_embedder: Embedder, restore_torch_threads: None) -> ScriptedLLM:
    """The real embedder with a scripted model in place of the GGUF one."""
    llm = ScriptedLLM(reply="The bridge will cost 12 million dollars [1].")
    monkeypatch.setattr("service.llm.backends.build_llm", lambda settings: llm)
    return llm


def test_eval_both_engines_writes_results_report_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_llm: ScriptedLLM
) -> None:
    questions = _jsonl(tmp_path / "q.jsonl", QUESTIONS)
    corpus = _jsonl(tmp_path / "a.jsonl", ARTICLES)
    out, report = tmp_path / "res" / "results.jsonl", tmp_path / "report.html"
    args = ["eval", str(questions), "--corpus", str(corpus), "--data-dir", str(tmp_path / "data"), "--quiet"]
    args += ["--engine", "both", "--holdout-gold", "0.5", "--seed", "0", "--top-k", "2"]
    code = main([*args, "--out", str(out), "--report", str(report), "--base-url", "http://127.0.0.1:8000"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["engine"], r["id"]) for r in results] == [
        ("citewire", "q1"),
        ("citewire", "q2"),
        ("baseline", "q1"),
        ("baseline", "q2"),
    ]
    held_out = [r["id"] for r in results if r["gold"]["expect_abstain"]]
    assert len(held_out) == 2 and held_out[0] == held_out[1]  # the same question for both engines
    assert "1 held out" in captured.err
    page = report.read_text(encoding="utf-8")
    assert "<svg" in page and "/v1/articles/" in page
    assert "metric" in captured.out and "abstention recall" in captured.out

    # The store now lacks the held-out article: evaluating again without --corpus is fine, and a
    # different hold-out whose article is stored is refused.
    again = ["eval", str(questions), "--data-dir", str(tmp_path / "data"), "--quiet", "--out", str(out)]
    assert main([*again, "--report", str(report), "--holdout-gold", "0.5", "--seed", "0"]) == 0
    other_seed = next(s for s in range(1, 50) if _held_out_for(s, tmp_path) != held_out[0])
    assert main([*again, "--report", str(report), "--holdout-gold", "0.5", "--seed", str(other_seed)]) == 2
    assert "held-out gold article" in capsys.readouterr().err


def _held_out_for(seed: int, tmp_path: Path) -> str:
    from service.evaluation.dataset import holdout, load_questions

    questions = load_questions(_jsonl(tmp_path / "probe.jsonl", QUESTIONS))
    [qid] = holdout(questions, 0.5, seed).expect_abstain
    return qid


def test_holdout_answers_needs_a_holdout_and_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = _jsonl(tmp_path / "q.jsonl", QUESTIONS)
    args = ["eval", str(questions), "--data-dir", str(tmp_path / "d"), "--out", "o.jsonl", "--report", "r.html"]
    assert main([*args, "--holdout-gold", "0.5", "--holdout-answers"]) == 2
    assert "--holdout-answers needs" in capsys.readouterr().err


def test_holdout_answers_also_leaves_out_another_copy_of_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scripted_llm: ScriptedLLM
) -> None:
    seed = next(s for s in range(50) if _held_out_for(s, tmp_path) == "q1")
    copy = {
        "id": "bridge-wire",
        "title": "Bridge approved",
        "text": "A bridge costing 12 million dollars was approved.",
    }
    corpus = _jsonl(tmp_path / "a.jsonl", [*ARTICLES, copy])
    data = tmp_path / "data"
    args = ["eval", str(_jsonl(tmp_path / "q.jsonl", QUESTIONS)), "--corpus", str(corpus), "--data-dir", str(data)]
    args += ["--quiet", "--holdout-gold", "0.5", "--seed", str(seed), "--holdout-answers"]
    code = main([*args, "--out", str(tmp_path / "o.jsonl"), "--report", str(tmp_path / "r.html")])
    assert code == 0, capsys.readouterr().err
    assert "2 held out; store has 1 articles" in capsys.readouterr().err
    assert "(1 of them other articles stating a held-out answer)" in (tmp_path / "r.html").read_text(encoding="utf-8")
