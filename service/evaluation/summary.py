"""The evaluation's headline metrics as text: the terminal's summary table and the paired differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.evaluation.metrics import paired_differences

# (summary key, label, kind): kind "rate" is a share in [0, 1] (plotted), "lower" a rate where lower is better.
HEADLINE: list[tuple[str, str, str]] = [
    ("n_questions", "questions", "count"),
    ("n_answerable", "answerable", "count"),
    ("n_unanswerable", "unanswerable (held out)", "count"),
    ("n_abstained", "abstained", "count"),
    ("n_errors", "errors", "count"),
    ("retrieval_hit@1", "retrieval hit@1", "rate"),
    ("retrieval_hit@5", "retrieval hit@5", "rate"),
    ("retrieval_hit@10", "retrieval hit@10", "rate"),
    ("retrieval_mrr@10", "retrieval MRR@10", "rate"),
    ("gold_in_context", "gold article shown to the model", "rate"),
    ("answer_contains", "answer contains gold", "rate"),
    ("answer_f1", "answer token F1", "rate"),
    ("mc_accuracy", "multiple-choice accuracy", "rate"),
    ("citation_precision", "citation precision", "rate"),
    ("citation_recall", "citation recall", "rate"),
    ("abstain_precision", "abstention precision", "rate"),
    ("abstain_recall", "abstention recall", "rate"),
    ("abstain_f1", "abstention F1", "rate"),
    ("abstained_when_answerable", "abstained when answerable", "lower"),
    ("answered_when_unanswerable", "answered when unanswerable", "lower"),
    ("citations", "citations", "count"),
    ("quote_mismatches", "quote mismatches (must be 0)", "count"),
    ("unresolved_markers", "markers naming no source", "count"),
    ("latency_total_p50_ms", "latency total p50 (ms)", "ms"),
    ("latency_total_p95_ms", "latency total p95 (ms)", "ms"),
    ("latency_retrieve_p50_ms", "latency retrieve p50 (ms)", "ms"),
    ("latency_generate_p50_ms", "latency generate p50 (ms)", "ms"),
    ("latency_generate_p95_ms", "latency generate p95 (ms)", "ms"),
    ("latency_verify_p50_ms", "latency verify p50 (ms)", "ms"),
]


def fmt(value: Any, kind: str = "rate") -> str:
    """A summary value for display: shares as percentages, n/a for metrics that did not apply."""
    if value is None:
        return "n/a"
    if kind in ("rate", "lower") and isinstance(value, int | float):
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def differences_text(results_by_engine: Mapping[str, Sequence[Mapping[str, Any]]], baseline: str = "baseline") -> str:
    """Each engine against ``baseline`` on the same questions: difference and 95% paired-bootstrap interval."""
    if baseline not in results_by_engine:
        return ""
    lines = []
    for engine, results in results_by_engine.items():
        if engine == baseline:
            continue
        for metric, (n, diff, lo, hi) in paired_differences(results, results_by_engine[baseline]).items():
            lines.append(
                f"{engine} - {baseline}  {metric:<20} {diff * 100:+6.1f} points  "
                f"95% interval [{lo * 100:+.1f}, {hi * 100:+.1f}]  ({n} questions)"
            )
    return "\n".join(lines)


def summary_table_text(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """The headline metrics as an aligned plain-text table, engines side by side."""
    engines = list(summaries)
    rows = [["metric", *engines]]
    rows += [[label, *(fmt(summaries[e].get(key), kind) for e in engines)] for key, label, kind in HEADLINE]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
