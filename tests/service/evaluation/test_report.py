"""Tests for service.evaluation.report: escaped text, inline SVG, citation links, the terminal table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.evaluation.charts import latency_histogram_svg
from service.evaluation.metrics import summarise
from service.evaluation.report import render_report, write_report
from service.evaluation.summary import summary_table_text

NASTY = '<script>alert("x")</script> & co'


def _result(engine: str, answer: str, *, total: float, abstained: bool = False) -> dict[str, Any]:
    citations = (
        []
        if abstained
        else [
            {
                "n": 1,
                "article_id": "art/1 ?",
                "title": f"Title {NASTY}",
                "source": None,
                "url": None,
                "published_at": None,
                "chunk_id": "c1",
                "quote": f"Quoted {NASTY}",
                "start": 10,
                "end": 20,
                "score": 0.5,
            }
        ]
    )
    return {
        "engine": engine,
        "id": "q<1>",
        "question": f"What about {NASTY}?",
        "answer": answer,
        "abstained": abstained,
        "citations": citations,
        "retrieved": [],
        "gold": {
            "answer": f"Gold {NASTY}",
            "article_ids": ["art/1 ?"],
            "choices": ["Gold", "Other"],
            "answer_index": [0],
            "expect_abstain": False,
        },
        "scores": {"answer_contains": not abstained, "answer_f1": 0.5, "quote_mismatches": 0},
        "timings_ms": {"retrieve": 5.0, "generate": total - 5.0, "total": total},
    }


def _runs() -> dict[str, list[dict[str, Any]]]:
    return {
        "citewire": [_result("citewire", f"It is {NASTY} [1].", total=1200.0)],
        "baseline": [_result("baseline", "No idea.", total=4000.0, abstained=True)],
    }


def test_report_escapes_all_text_and_is_self_contained() -> None:
    runs = _runs()
    page = render_report(runs, {e: summarise(rs) for e, rs in runs.items()}, title=f"Run {NASTY}")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "q&lt;1&gt;" in page
    assert "<svg" in page and page.count("<svg") == 2
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # no external assets
    assert "<link" not in page and "src=" not in page


def test_markers_link_to_the_quote_below_with_a_tooltip() -> None:
    runs = _runs()
    page = render_report(runs, {e: summarise(rs) for e, rs in runs.items()})
    assert '<a class="m" href="#q0-citewire-c1" title="Quoted &lt;script&gt;' in page
    assert '<li id="q0-citewire-c1" value="1">' in page
    assert "[10:20]" in page
    assert "abstained" in page


def test_with_a_base_url_citations_open_the_servers_passage() -> None:
    runs = _runs()
    page = render_report(runs, {e: summarise(rs) for e, rs in runs.items()}, base_url="http://127.0.0.1:8000/")
    assert 'href="http://127.0.0.1:8000/v1/articles/art%2F1%20%3F/passage?start=10&amp;end=20"' in page


def test_side_by_side_headline_and_na_for_unmeasured_metrics() -> None:
    runs = _runs()
    summaries = {e: summarise(rs) for e, rs in runs.items()}
    page = render_report(runs, summaries)
    assert "<th>citewire</th><th>baseline</th>" in page
    assert "n/a" in page  # no retrieval gold scores in these results
    table = summary_table_text(summaries)
    header = table.splitlines()[0].split()
    assert header == ["metric", "citewire", "baseline"]
    assert "quote mismatches (must be 0)" in table


def test_latency_histogram_handles_no_timings() -> None:
    assert "no timings" in latency_histogram_svg({"citewire": []})
    svg = latency_histogram_svg({"a": [{"timings_ms": {"total": 5.0}}] * 3})
    assert svg.count("<rect") == 1  # equal values: one bar, no division by zero


def test_write_report_creates_the_file(tmp_path: Path) -> None:
    runs = _runs()
    path = tmp_path / "out" / "report.html"
    write_report(path, runs, {e: summarise(rs) for e, rs in runs.items()})
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
