"""Write the documented realtimeqa evaluation corpus to a temporary file (never into the repo).

Indexing all 2,099 articles (~35k chunks, ~13 min on 2 cores) for every evaluation run is slow, so
the documented development corpus is: every gold article of every question (277), plus the search
results retrieved for the evaluated questions' own quiz dates (the distractors those questions
really competed with). Every question's gold articles are therefore always present.

    python -m bench.eval_corpus --questions 40 --out /tmp/rtqa-corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "realtimeqa"


def build_corpus(questions_path: Path, articles_path: Path, n_questions: int) -> tuple[list[str], dict[str, int]]:
    """Article lines for the corpus, and counts by kind."""
    questions = [json.loads(line) for line in questions_path.read_text().splitlines() if line.strip()]
    dates = {q["id"].split("_")[0] for q in questions[:n_questions]}
    lines, counts = [], {"gold": 0, "distractor": 0}
    for line in articles_path.read_text().splitlines():
        if not line.strip():
            continue
        article = json.loads(line)
        origins = article.get("origins") or []
        if article.get("is_gold_for_some_question"):
            counts["gold"] += 1
        elif any(o.rsplit("/", 1)[-1].split("_")[0] in dates for o in origins):
            counts["distractor"] += 1
        else:
            continue
        lines.append(line)
    return lines, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40, help="the first N development questions (default 40)")
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    parser.add_argument("--out", type=Path, required=True, help="where to write the corpus (outside the repo)")
    args = parser.parse_args(argv)
    if not (args.eval_dir / "articles.jsonl").is_file():
        parser.error(f"{args.eval_dir} has no articles.jsonl (the shared evaluation data is not here)")
    lines, counts = build_corpus(args.eval_dir / "questions.jsonl", args.eval_dir / "articles.jsonl", args.questions)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} articles ({counts['gold']} gold, {counts['distractor']} distractors) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
