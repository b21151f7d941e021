"""Claim checks on a labelled set: how often /v1/check's label is right, and whether every span is exact.

The set is tests/data/claims.jsonl: claims written for this project about the seed article and five RealTime QA
articles (supported, contradicted, unmentioned), split into tune and check. The store holds the seed, the RealTime
QA articles the claims are about and other RealTime QA gold articles as distractors (read from ../shared/eval at
run time). Every sentence's verifier scores are saved, so thresholds are chosen offline on tune (``--replay``)
and reported on check.

    python -m bench.check_claims [--distractors 20] [--llm-model default]
    python -m bench.check_claims --replay bench/results/check_claims-<stamp>.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import command_line, format_table, machine_info, print_header, settings_with, write_results
from index.articles import Article
from index.ingest import ingest_articles
from index.loaders import article_from_record, collect_files, load_file
from service.answering.verifier import Verifier
from service.checking.checker import CheckPolicy, ClaimChecker, label_for
from service.components import build_checker, build_components, build_engine
from service.llm.gate import GenerationGate
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "tests" / "data" / "claims.jsonl"
SEEDS = ROOT / "seeds"
RTQA_ARTICLES = ROOT.parent / "shared" / "eval" / "realtimeqa" / "articles.jsonl"
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))


def load_claims(path: Path = CLAIMS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus(claims: Sequence[dict[str, Any]], distractors: int, seed: int = 0) -> Iterator[Article]:
    """The seed articles, the RealTime QA articles the claims are about, and ``distractors`` other gold ones."""
    for path in collect_files([SEEDS]):
        yield from load_file(path)
    about = {c["about"] for c in claims if c["corpus"] == "realtimeqa"}
    others: list[dict[str, Any]] = []
    with RTQA_ARTICLES.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["id"] in about:
                yield article_from_record(record)
            elif record.get("is_gold_for_some_question"):
                others.append(record)
    for record in random.Random(seed).sample(others, min(distractors, len(others))):
        yield article_from_record(record)


def build_checker_for(settings: Settings, articles: Iterator[Article]) -> tuple[ClaimChecker, dict[str, str]]:
    """A checker over a fresh store holding ``articles``, and each article's text by id."""
    components = build_components(settings)
    stored = list(articles)
    ingest_articles(stored, components.store, components.embedder, components.chunking)
    engine = build_engine(components)
    gate = GenerationGate(settings.max_queued_requests, settings.request_timeout_s)
    return build_checker(engine, settings, gate), {a.id: a.text for a in stored}


def run(
    checker: ClaimChecker, claims: Sequence[dict[str, Any]], texts: dict[str, str], progress: bool = True
) -> list[dict[str, Any]]:
    """Each claim checked alone; its label, every sentence's scores, and whether each span is exact."""
    rows = []
    for claim in tqdm(claims, desc="claims", unit="claim", disable=not progress):
        response = checker.check(claim["claim"])
        assert len(response.claims) == 1, f"{claim['id']} is not one sentence"
        verdict = response.claims[0]
        spans = verdict.supporting + verdict.contradicting
        rows.append(
            {
                **claim,
                "predicted": verdict.label,
                "support": verdict.support,
                "contradiction": verdict.contradiction,
                "spans_exact": all(texts[s.article_id][s.start : s.end] == s.quote for s in spans),
                "articles": sorted({s.article_id for s in spans}),
                "sentences": [s.model_dump() for s in spans],
                "ms": response.timings_ms.total,
            }
        )
    return rows


def accuracy(rows: Sequence[dict[str, Any]], policy: CheckPolicy | None = None) -> float:
    """Share of right labels; with ``policy``, the labels its thresholds give from the saved best scores."""
    if not rows:
        return 0.0
    right = 0
    for r in rows:
        label = r["predicted"] if policy is None else label_for(r["support"], r["contradiction"], policy)
        right += label == r["label"]
    return right / len(rows)


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = []
    for split in ("tune", "check", "all"):
        part = [r for r in rows if split == "all" or r["split"] == split]
        by_label = {
            label: accuracy([r for r in part if r["label"] == label])
            for label in ("supported", "contradicted", "unmentioned")
        }
        exact = sum(r["spans_exact"] for r in part)
        lines.append(
            [
                split,
                len(part),
                f"{accuracy(part):.1%}",
                *(f"{v:.0%}" for v in by_label.values()),
                f"{exact}/{len(part)}",
            ]
        )
    headers = ["split", "claims", "right", "supported", "contradicted", "unmentioned", "spans exact"]
    return format_table(headers, lines)


def replay(rows: Sequence[dict[str, Any]]) -> str:
    """Thresholds fitted on tune (most right labels; ties: the pair nearest 0.5, 0.5), reported on check.

    Only the best scores are saved per claim, so the replay is exact for the label (not for which spans pass)."""
    tune = [r for r in rows if r["split"] == "tune"]
    check = [r for r in rows if r["split"] == "check"]
    grid = [CheckPolicy(min_support=s, min_contradiction=c) for s in THRESHOLDS for c in THRESHOLDS]
    best = max(grid, key=lambda p: (accuracy(tune, p), -abs(p.min_support - 0.5) - abs(p.min_contradiction - 0.5)))
    current = CheckPolicy()
    out = [
        [
            "now",
            current.min_support,
            current.min_contradiction,
            f"{accuracy(tune, current):.1%}",
            f"{accuracy(check, current):.1%}",
        ],
        [
            "fitted on tune",
            best.min_support,
            best.min_contradiction,
            f"{accuracy(tune, best):.1%}",
            f"{accuracy(check, best):.1%}",
        ],
    ]
    return format_table(["thresholds", "min_support", "min_contradiction", "tune", "check"], out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--distractors", type=int, default=20, help="other RealTime QA gold articles in the store")
    parser.add_argument("--llm-model", default=None, help="profile or .gguf path (default: the settings')")
    parser.add_argument("--replay", type=Path, help="fit thresholds on a saved run's tune split instead")
    parser.add_argument("--split", choices=("tune", "check", "all"), default="all", help="which claims to run")
    parser.add_argument("--prompt", default="check", help="the verifier's prompt pair: check or verify")
    args = parser.parse_args(argv)
    if args.replay is not None:
        print(replay(json.loads(args.replay.read_text(encoding="utf-8"))["claims"]))
        return 0
    if not RTQA_ARTICLES.is_file():
        print(f"skipped: {RTQA_ARTICLES} is absent")
        return 0
    machine, command = machine_info(), command_line("bench.check_claims")
    print_header("claim checks", command, machine)
    claims = [c for c in load_claims() if args.split in ("all", c["split"])]
    overrides = {"llm_model": args.llm_model} if args.llm_model else {}
    with tempfile.TemporaryDirectory() as tmp:
        checker, texts = build_checker_for(
            settings_with(Path(tmp), **overrides), corpus(load_claims(), args.distractors)
        )
        checker.verifier = Verifier(checker.verifier.model, prompt=args.prompt)
        rows = run(checker, claims, texts)
    print(table(rows))
    print(replay(rows))
    payload = {"distractors": args.distractors, "prompt": args.prompt, "claims": rows}
    path = write_results("check_claims", command, machine, payload)
    print(f"saved: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
