"""Carry MiniLM's calibrated cosine thresholds over to another embedder by matching quantiles.

Each embedding model has its own cosine scale (unrelated texts score ~0.0 with MiniLM, ~0.7 with
E5), so a threshold tuned for one means nothing to another. Tuning each threshold again with full
evaluation runs is slow; instead, both models score the same pairs of texts, and a MiniLM threshold
``t`` maps to the other model's cosine at the same quantile: the share of pairs below ``t`` for
MiniLM is the share below the new threshold for the other model. Pairs are built per threshold from
RGB en_fact, the kind of texts each threshold is applied to:

- relevance: question (as a query) vs passage, for its own evidence passages and random others;
- answer relevance: question (as a query) vs a sentence of its own evidence or of another question's;
- paraphrase: evidence sentence vs evidence sentence, same question or not.

    python -m bench.calibrate_embedder --embedder e5-multilingual
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import command_line, format_table, machine_info, print_header, write_results
from index.chunking import sentence_spans
from index.embedding import MINILM_CALIBRATION, Embedder, load_embedder

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval" / "rgb_en_fact"
Pair = tuple[str, str]


def build_pairs(eval_dir: Path, seed: int = 0) -> dict[str, list[Pair]]:
    """Same-question and other-question pairs for each threshold, in equal numbers."""
    rng = random.Random(seed)
    questions = [json.loads(line) for line in (eval_dir / "questions.jsonl").read_text().splitlines() if line]
    texts = {
        a["id"]: a["text"]
        for a in map(json.loads, (eval_dir / "articles.jsonl").read_text().splitlines())
        if a.get("text")
    }
    evidence = {
        q["question"]: [texts[e["article_id"]] for e in q["evidence"] if e["article_id"] in texts] for q in questions
    }
    evidence = {q: ps for q, ps in evidence.items() if ps}
    sentences = {q: [p[a:b] for p in ps for a, b in sentence_spans(p)] for q, ps in evidence.items()}
    names = list(evidence)
    pairs: dict[str, list[Pair]] = {"relevance": [], "answer_relevance": [], "paraphrase": []}
    for q in names:
        other = rng.choice([n for n in names if n != q])
        for own, theirs in zip(evidence[q][:3], evidence[other][:3], strict=False):
            pairs["relevance"] += [(q, own), (q, theirs)]
        for own, theirs in zip(sentences[q][:3], sentences[other][:3], strict=False):
            pairs["answer_relevance"] += [(q, own), (q, theirs)]
        own_sents = sentences[q]
        for a, b, c in zip(own_sents[:3], own_sents[1:4], sentences[other][:3], strict=False):
            pairs["paraphrase"] += [(a, b), (a, c)]
    return pairs


def cosines(embedder: Embedder, pairs: Sequence[Pair], query_first: bool) -> np.ndarray:
    model = embedder.model
    left_texts = [a for a, _ in pairs]
    left = (
        [model.get_query_embedding(t) for t in left_texts]
        if query_first
        else model.get_text_embedding_batch(left_texts)
    )
    right = model.get_text_embedding_batch([b for _, b in pairs])
    a, b = np.asarray(left, dtype=np.float32), np.asarray(right, dtype=np.float32)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def matched_threshold(reference: np.ndarray, other: np.ndarray, threshold: float) -> float:
    """The ``other`` cosine at the quantile where ``reference`` crosses ``threshold``."""
    share_below = float(np.mean(reference < threshold))
    return float(np.quantile(other, share_below))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate_embedder", description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="e5-multilingual", help="the model to calibrate against MiniLM")
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    args = parser.parse_args(argv)
    if not (args.eval_dir / "questions.jsonl").is_file():
        parser.error(f"{args.eval_dir} has no questions.jsonl (the shared evaluation data is not here)")
    command, machine = command_line("bench.calibrate_embedder"), machine_info()
    print_header(f"calibration: MiniLM thresholds carried to {args.embedder}", command, machine)
    pairs = build_pairs(args.eval_dir)
    reference, other = load_embedder("minilm"), load_embedder(args.embedder)
    rows, payload = [], {}
    for name, query_first in (("relevance", True), ("answer_relevance", True), ("paraphrase", False)):
        ref = cosines(reference, pairs[name], query_first)
        oth = cosines(other, pairs[name], query_first)
        t = float(getattr(MINILM_CALIBRATION, name))
        mapped = matched_threshold(ref, oth, t)
        share = float(np.mean(ref < t))
        rows.append([name, len(pairs[name]), t, share, mapped, float(np.median(ref)), float(np.median(oth))])
        payload[name] = {"pairs": len(pairs[name]), "minilm": t, "share_below": share, args.embedder: mapped}
    print(
        format_table(
            ["threshold", "pairs", "MiniLM", "share below", args.embedder, "MiniLM median", "other median"], rows
        )
    )
    print(f"\nresults : {write_results('calibration', command, machine, payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
