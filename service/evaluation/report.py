"""The evaluation report: one self-contained HTML file (no external assets, no JavaScript, inline SVG).

``[n]`` in an answer links to its quote below, or, given a running server's base URL, to
``/v1/articles/{id}/passage``. Every text from a dataset or a model is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlencode

from service.evaluation.charts import COLOURS, esc, latency_histogram_svg, metric_bars_svg
from service.evaluation.summary import HEADLINE, differences_text, fmt

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

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
