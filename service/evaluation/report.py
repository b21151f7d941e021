"""The evaluation report: one self-contained HTML file, and the summary table for the terminal.

Self-contained so it can be attached to an issue or opened from a CI artefact years later: no
external assets, no JavaScript, plots drawn as inline SVG. Citations are plain links: ``[n]`` in
an answer jumps to the quote below it (the link's tooltip shows the quote, article id and
offsets), or, given the base URL of a running server, opens ``/v1/articles/{id}/passage``.
Every piece of text from a dataset or a model goes through ``html.escape``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

import numpy as np

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
COLOURS = ["#2b6cb0", "#dd6b20", "#2f855a", "#805ad5"]
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_HIST_BINS = 20

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#1a202c}
h1{font-size:1.5em}h2{margin-top:2em;font-size:1.2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #cbd5e0;padding:4px 8px;vertical-align:top}
th{background:#edf2f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta td:first-child{font-weight:600}.lower{color:#718096;font-size:.85em}
.qs td{max-width:420px}.answer{white-space:pre-wrap;max-height:14em;overflow:auto}.abst{color:#9c4221;font-weight:600}
.ok{color:#276749}.bad{color:#c53030}.gold{color:#2c5282}.small{font-size:.85em;color:#4a5568}
ol.cites{margin:.3em 0 0 1.2em;padding:0;font-size:.85em}ol.cites li{margin:.2em 0}
ol.cites li:target{background:#fefcbf}a.m{text-decoration:none;font-weight:600}
blockquote{margin:.2em 0;padding-left:.6em;border-left:3px solid #cbd5e0;white-space:pre-wrap;
max-height:10em;overflow:auto}
.legend span{display:inline-block;margin-right:1.2em}.legend i{display:inline-block;width:12px;height:12px;
margin-right:4px;vertical-align:middle}
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


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


# -- SVG -----------------------------------------------------------------------------------


def metric_bars_svg(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """Horizontal grouped bars, one group per rate metric, one bar per engine (n/a drawn as text)."""
    engines = list(summaries)
    metrics = [(k, label, kind) for k, label, kind in HEADLINE if kind in ("rate", "lower")]
    label_w, plot_w, bar_h, gap = 250, 420, 12, 10
    group_h = bar_h * len(engines) + gap
    height = 30 + group_h * len(metrics)
    parts = [_svg_open(label_w + plot_w + 70, height, "metric comparison")]
    for pct in (0, 25, 50, 75, 100):
        x = label_w + plot_w * pct / 100
        parts.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 4}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{x:.1f}" y="12" font-size="10" text-anchor="middle">{pct}%</text>')
    for i, (key, label, kind) in enumerate(metrics):
        y0 = 22 + i * group_h
        suffix = " (lower is better)" if kind == "lower" else ""
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2:.1f}" font-size="11" text-anchor="end" '
            f'dominant-baseline="middle">{esc(label + suffix)}</text>'
        )
        for j, engine in enumerate(engines):
            value = summaries[engine].get(key)
            y = y0 + j * bar_h
            if value is None:
                parts.append(f'<text x="{label_w + 4}" y="{y + bar_h - 2}" font-size="10" fill="#718096">n/a</text>')
                continue
            w = plot_w * max(0.0, min(1.0, float(value)))
            colour = COLOURS[j % len(COLOURS)]
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}">'
                f"<title>{esc(engine)}: {esc(label)} {fmt(value, kind)}</title></rect>"
            )
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" font-size="10">{fmt(value, kind)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def latency_histogram_svg(results_by_engine: Mapping[str, Sequence[Mapping[str, Any]]], phase: str = "total") -> str:
    """Histogram of per-question latency, shared bins, one colour per engine."""
    series = {
        e: [float(r["timings_ms"][phase]) for r in rs if r.get("timings_ms", {}).get(phase) is not None]
        for e, rs in results_by_engine.items()
    }
    values = [v for vs in series.values() for v in vs]
    width, height, left, bottom, top = 720, 240, 50, 40, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    parts = [_svg_open(width, height, f"{phase} latency histogram")]
    if not values:
        parts.append(f'<text x="{left}" y="{height / 2}" font-size="12">no timings</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, _HIST_BINS + 1)
    counts = {e: np.histogram(vs, bins=edges)[0] for e, vs in series.items()}
    peak = max(int(c.max()) for c in counts.values()) or 1
    slot = plot_w / _HIST_BINS
    bar_w = slot / max(1, len(series))
    for j, (engine, hist) in enumerate(counts.items()):
        colour = COLOURS[j % len(COLOURS)]
        for b, count in enumerate(hist):
            if not count:
                continue
            h = plot_h * int(count) / peak
            x = left + b * slot + j * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{esc(engine)}: {int(count)} question(s), '
                f"{edges[b]:,.0f}–{edges[b + 1]:,.0f} ms</title></rect>"
            )
    axis_y = top + plot_h
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#4a5568"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}" stroke="#4a5568"/>')
    for b in range(0, _HIST_BINS + 1, 5):
        x = left + b * slot
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">{edges[b]:,.0f}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
        f"{esc(phase)} latency per question (ms)</text>"
    )
    parts.append(f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left - 6}" y="{axis_y}" font-size="10" text-anchor="end">0</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}" font-family="system-ui,sans-serif">'
    )


# -- HTML ----------------------------------------------------------------------------------


def passage_url(base_url: str, citation: Mapping[str, Any]) -> str:
    """The server's citation lookup for one citation."""
    query = urlencode({"start": citation["start"], "end": citation["end"]})
    return f"{base_url.rstrip('/')}/v1/articles/{url_quote(str(citation['article_id']), safe='')}/passage?{query}"


def render_report(
    results_by_engine: Mapping[str, Sequence[Mapping[str, Any]]],
    summaries: Mapping[str, Mapping[str, Any]],
    *,
    title: str = "Citewire evaluation",
    base_url: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> str:
    """The whole report as one HTML string."""
    engines = list(results_by_engine)
    legend = "".join(
        f'<span><i style="background:{COLOURS[j % len(COLOURS)]}"></i>{esc(e)}</span>' for j, e in enumerate(engines)
    )
    body = [
        f"<h1>{esc(title)}</h1>",
        _meta_table(meta or {}),
        "<h2>Headline metrics</h2>",
        _headline_table(summaries),
        *_differences_block(results_by_engine),
        "<h2>Metrics compared</h2>",
        f'<p class="legend">{legend}</p>',
        metric_bars_svg(summaries),
        "<h2>Latency</h2>",
        f'<p class="legend">{legend}</p>',
        latency_histogram_svg(results_by_engine, "total"),
        "<h2>Questions</h2>",
        _questions_table(results_by_engine, base_url),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _differences_block(results_by_engine: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    text = differences_text(results_by_engine)
    return ["<h2>Against the stock engine (95% paired bootstrap)</h2>", f"<pre>{esc(text)}</pre>"] if text else []


def write_report(path: Path, *args: Any, **kwargs: Any) -> None:
    """Render and write the report (UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(*args, **kwargs), encoding="utf-8")


def _meta_table(meta: Mapping[str, Any]) -> str:
    if not meta:
        return ""
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta.items())
    return f'<table class="meta">{rows}</table>'


def _headline_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{esc(e)}</th>" for e in summaries)
    rows = []
    for key, label, kind in HEADLINE:
        note = ' <span class="lower">lower is better</span>' if kind == "lower" else ""
        cells = "".join(f'<td class="num">{esc(fmt(s.get(key), kind))}</td>' for s in summaries.values())
        rows.append(f"<tr><td>{esc(label)}{note}</td>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def _questions_table(results_by_engine: Mapping[str, Sequence[Mapping[str, Any]]], base_url: str | None) -> str:
    engines = list(results_by_engine)
    by_id: dict[str, dict[str, Mapping[str, Any]]] = {}
    for engine, results in results_by_engine.items():
        for r in results:
            by_id.setdefault(str(r["id"]), {})[engine] = r
    head = "".join(f"<th>{esc(e)}</th>" for e in engines)
    rows = []
    for i, (qid, per_engine) in enumerate(by_id.items()):
        first = next(iter(per_engine.values()))
        cells = "".join(_answer_cell(per_engine.get(e), f"q{i}-{_slug(e)}", base_url) for e in engines)
        rows.append(f'<tr id="q{i}"><td>{_question_cell(qid, first)}</td>{cells}</tr>')
    return f'<table class="qs"><tr><th>question and gold</th>{head}</tr>{"".join(rows)}</table>'


def _question_cell(qid: str, result: Mapping[str, Any]) -> str:
    gold = result.get("gold", {})
    answer = gold.get("answer")
    answers = answer if isinstance(answer, list) else [answer]
    parts = [f'<div class="small">{esc(qid)}</div>', f"<div>{esc(result.get('question'))}</div>"]
    if gold.get("expect_abstain"):
        parts.append('<div class="gold">expected: abstain (gold articles held out)</div>')
    parts.append(f'<div class="gold">gold: {esc(" | ".join(str(a) for a in answers))}</div>')
    if gold.get("choices"):
        right = set(gold.get("answer_index") or [])
        opts = "; ".join(("✓ " if k in right else "") + str(c) for k, c in enumerate(gold["choices"]))
        parts.append(f'<div class="small">choices: {esc(opts)}</div>')
    if gold.get("article_ids"):
        parts.append(f'<div class="small">gold articles: {esc(", ".join(gold["article_ids"]))}</div>')
    return "".join(parts)


def _answer_cell(result: Mapping[str, Any] | None, anchor: str, base_url: str | None) -> str:
    if result is None:
        return "<td>—</td>"
    citations = {int(c["n"]): c for c in result.get("citations") or []}
    answer = _linked_markers(esc(result.get("answer")), citations, anchor, base_url)
    scores = result.get("scores", {})
    flags = []
    if result.get("abstained"):
        flags.append('<span class="abst">abstained</span>')
    if result.get("error"):
        flags.append(f'<span class="bad">error: {esc(result["error"])}</span>')
    verdict = scores.get("answer_contains")
    if verdict is not None:
        flags.append(f'<span class="{"ok" if verdict else "bad"}">{"contains gold" if verdict else "no gold"}</span>')
    if scores.get("mc_correct") is not None:
        flags.append(
            f'<span class="{"ok" if scores["mc_correct"] else "bad"}">choice '
            f"{'right' if scores['mc_correct'] else 'wrong'}</span>"
        )
    for key in ("answer_f1", "hit@5", "citation_precision"):
        if scores.get(key) is not None:
            flags.append(f'<span class="small">{esc(key)} {float(scores[key]):.2f}</span>')
    if scores.get("quote_mismatches"):
        flags.append(f'<span class="bad">{int(scores["quote_mismatches"])} quote mismatch(es)</span>')
    total = result.get("timings_ms", {}).get("total")
    if total is not None:
        flags.append(f'<span class="small">{float(total):,.0f} ms</span>')
    items = "".join(_citation_item(c, anchor, base_url) for c in citations.values())
    cites = f'<ol class="cites">{items}</ol>' if items else ""
    return f'<td><div class="answer">{answer}</div><div>{" · ".join(flags)}</div>{cites}</td>'


def _citation_item(c: Mapping[str, Any], anchor: str, base_url: str | None) -> str:
    where = f"{esc(c['article_id'])} [{int(c['start'])}:{int(c['end'])}]"
    link = f' <a href="{esc(passage_url(base_url, c))}">open passage</a>' if base_url and int(c["start"]) >= 0 else ""
    title = f" {esc(c.get('title'))}" if c.get("title") else ""
    return (
        f'<li id="{anchor}-c{int(c["n"])}" value="{int(c["n"])}"><span class="small">{where}{title}</span>{link}'
        f"<blockquote>{esc(c.get('quote'))}</blockquote></li>"
    )


def _linked_markers(escaped: str, citations: Mapping[int, Mapping[str, Any]], anchor: str, base_url: str | None) -> str:
    """Turn each ``[n]`` of an already escaped answer into a link to its citation."""

    def link(n: int) -> str:
        c = citations.get(n)
        if c is None:
            return str(n)
        tip = f"{c.get('quote', '')}\n— {c['article_id']} [{c['start']}:{c['end']}]"
        href = passage_url(base_url, c) if base_url and int(c["start"]) >= 0 else f"#{anchor}-c{n}"
        return f'<a class="m" href="{esc(href)}" title="{esc(tip)}">{n}</a>'

    def replace(match: re.Match[str]) -> str:
        numbers = [int(x) for x in match.group(1).split(",")]
        return "[" + ", ".join(link(n) for n in numbers) + "]"

    return _MARKER.sub(replace, escaped)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name) or "engine"
