"""Fit the verifier's support threshold on a tune run: the answers each threshold would have given.

Run ``citewire eval --split tune`` with ``CITEWIRE_MIN_SUPPORT=0`` (every claim kept, each with its
verifier score in ``notes.sentences``), then replay the decision offline for every threshold: a claim
is kept when its score reaches it, and a question with no claim kept is an abstention. "Right" is a
kept answer holding the gold answer for an answerable question, an abstention for one whose evidence
was removed. The threshold with the most right questions is printed (ties: the lower one).

    python -m bench.calibrate_support /tmp/evalruns/rgb-tune.jsonl [/tmp/evalruns/rtqa-tune.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import format_table
from service.evaluation.metrics import contains_answer

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 20))


def replay(result: dict[str, Any], threshold: float) -> tuple[bool, str]:
    """(abstained, answer text) had the engine kept only claims scoring at least ``threshold``."""
    sentences = (result.get("notes") or {}).get("sentences") or []
    kept = [s["text"] for s in sentences if s.get("score") is not None and s["score"] >= threshold]
    if result.get("abstained") and not sentences:
        return True, ""  # abstained before any claim: gate or refusal
    return (not kept), " ".join(kept)


def outcomes(results: Sequence[dict[str, Any]], threshold: float) -> dict[str, float]:
    answerable = [r for r in results if not r["gold"]["expect_abstain"]]
    removed = [r for r in results if r["gold"]["expect_abstain"]]
    right_answers = abstained_answerable = withheld = 0
    for r in answerable:
        abstained, text = replay(r, threshold)
        abstained_answerable += abstained
        gold = r["gold"]["answer"]
        right_answers += (not abstained) and contains_answer(text, gold if isinstance(gold, list) else [gold])
    for r in removed:
        withheld += replay(r, threshold)[0]
    return {
        "right": (right_answers + withheld) / max(1, len(results)),
        "accuracy": right_answers / max(1, len(answerable)),
        "abstained_answerable": abstained_answerable / max(1, len(answerable)),
        "withheld": withheld / max(1, len(removed)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("results", nargs="+", type=Path, help="tune-run results .jsonl (citewire engine)")
    args = parser.parse_args(argv)
    results = [
        r
        for path in args.results
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and (r := json.loads(line)).get("engine") == "citewire"
    ]
    rows, best = [], (-1.0, 0.0)
    for t in THRESHOLDS:
        o = outcomes(results, t)
        rows.append([t, *(f"{o[k] * 100:.1f}" for k in ("right", "accuracy", "abstained_answerable", "withheld"))])
        best = max(best, (o["right"], -t))
    print(f"{len(results)} questions from {', '.join(str(p) for p in args.results)}")
    print(format_table(["threshold", "right %", "accuracy %", "abstained answerable %", "withheld %"], rows))
    print(f"\nbest threshold: {-best[1]:.2f} ({best[0] * 100:.1f}% right)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
