"""The report's plots as inline SVG: rate metrics as grouped bars, latency as a histogram per engine."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from service.evaluation.summary import HEADLINE, fmt

COLOURS = ["#2b6cb0", "#dd6b20", "#2f855a", "#805ad5"]
_HIST_BINS = 20


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


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
