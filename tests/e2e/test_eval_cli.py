"""End to end: ``citewire eval`` with the real parts on a slice of RealTime QA.

Three questions, a corpus of their gold articles plus ten distractors (written to a temporary
file, never into the repo), one question's gold held out, both engines, and the tiny model so it
stays quick: this checks the plumbing (indexing, both engines, results file, report), not answer
quality. The data lives outside the repo in ../shared/eval; without it the test is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from service.cli import main
from service.evaluation.metrics import summarise

pytestmark = pytest.mark.slow
EVAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "eval" / "realtimeqa"
N_QUESTIONS = 3
N_DISTRACTORS = 3
RESULT_KEYS = {"engine", "id", "question", "answer", "abstained", "citations", "retrieved", "gold", "scores"}
RESULT_KEYS |= {"timings_ms"}
CITATION_KEYS = {"n", "article_id", "title", "source", "url", "published_at", "chunk_id", "quote", "start", "end"}
CITATION_KEYS |= {"score"}


def _slice(tmp_path: Path) -> tuple[Path, Path]:
    questions_path, articles_path = EVAL_DIR / "questions.jsonl", EVAL_DIR / "articles.jsonl"
    if not (questions_path.is_file() and articles_path.is_file()):
        pytest.skip(f"evaluation data not found in {EVAL_DIR} (it lives outside the repo, in ../shared/eval)")
    lines = questions_path.read_text(encoding="utf-8").splitlines()[:N_QUESTIONS]
    gold = {e["article_id"] for line in lines for e in json.loads(line)["evidence"]}
    picked, distractors = [], 0
    with articles_path.open(encoding="utf-8") as fh:
        for line in fh:
            article = json.loads(line)
            if article["id"] in gold:
                picked.append(line)
            elif distractors < N_DISTRACTORS and not article.get("is_gold_for_some_question"):
                picked.append(line)
                distractors += 1
    assert len(picked) == len(gold) + N_DISTRACTORS
    questions, corpus = tmp_path / "questions.jsonl", tmp_path / "articles.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus.write_text("".join(picked), encoding="utf-8")
    return questions, corpus


def test_eval_both_engines_on_a_realtimeqa_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    questions, corpus = _slice(tmp_path)
    # One llama.cpp thread: on a shared 2-core machine two spinning threads slow the tiny model ~30x.
    monkeypatch.setenv("CITEWIRE_LLM_THREADS", "1")
    out, report = tmp_path / "results.jsonl", tmp_path / "report.html"
    threads = torch.get_num_threads()
    args = ["eval", str(questions), "--corpus", str(corpus), "--data-dir", str(tmp_path / "data"), "--quiet"]
    args += ["--engine", "both", "--llm-model", "tiny", "--top-k", "2", "--holdout-gold", "0.34", "--seed", "1"]
    try:
        code = main([*args, "--out", str(out), "--report", str(report)])
    finally:
        torch.set_num_threads(threads)  # eval pins torch to one thread, as the server does
    printed = capsys.readouterr().out
    assert code == 0

    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == 2 * N_QUESTIONS
    assert [r["engine"] for r in results] == ["citewire"] * N_QUESTIONS + ["baseline"] * N_QUESTIONS
    for r in results:
        assert set(r) >= RESULT_KEYS, set(r) ^ RESULT_KEYS
        assert "error" not in r, r["error"]
        assert all(set(c) == CITATION_KEYS for c in r["citations"])
        assert {"hit@1", "hit@5", "hit@10", "rr@10", "answer_f1", "citation_recall"} <= set(r["scores"])
        assert set(r["timings_ms"]) == {"retrieve", "generate", "verify", "total"}
    for engine in ("citewire", "baseline"):
        mine = [r for r in results if r["engine"] == engine]
        assert sum(r["gold"]["expect_abstain"] for r in mine) == 1  # one question's gold was held out
        summary = summarise(mine)
        assert summary["retrieval_hit@10"] is not None and summary["answer_f1"] is not None
        assert summary["abstain_recall"] is not None
        assert summary["latency_total_p50_ms"] is not None
    assert summarise([r for r in results if r["engine"] == "citewire"])["quote_mismatches"] == 0

    page = report.read_text(encoding="utf-8")
    assert "<svg" in page and "<th>citewire</th><th>baseline</th>" in page
    assert "retrieval hit@10" in printed and "citewire" in printed and "baseline" in printed
