"""bench.soak without a server: outcomes, the SSE reader, summaries, acceptance checks and the summary's tables."""

from __future__ import annotations

import json
import random
from typing import Any

from bench import soak, tables
from bench.soak import Record

DEADLINE = 60.0


def _records() -> list[Record]:
    """A small soak that passes: answers (one an abstention), a 503, a left stream, searches and writes, and a
    chat in flight at the end."""
    return [
        Record("client-0", "query", 0.0, 200, "ok", 2.0, generated=True),
        Record("client-0", "query", 3.0, 200, "ok", 4.0, generated=False),
        Record("client-1", "query", 0.1, 503, "busy", 0.01, retry_after_s=20),
        Record("client-1", "stream", 1.0, 200, "ok", 3.0, first_token_s=0.5, generated=True),
        Record("client-2", "stream_left", 0.2, 200, "left", 0.6, first_token_s=0.6),
        Record("client-2", "query_left", 1.5, None, "left", 1.2),
        Record("client-3", "search", 0.3, 200, "ok", 0.02),
        Record("client-3", "search", 0.4, 200, "ok", 0.04),
        Record("client-3", "chat", 0.5, 429, "limited", 0.001, retry_after_s=1),
        Record("client-3", "chat", 0.6, None, "ended", 9.5, detail="follow-up"),
        Record("writer", "put", 0.0, 200, "ok", 0.3),
        Record("writer", "job", 1.0, 202, "ok", 0.1),
        Record("writer", "job_poll", 1.2, 200, "ok", 0.01),
        Record("writer", "delete", 2.0, 200, "ok", 0.05),
    ]


LISTING_OK = soak.check_listing(
    {"soak-00001": "present", "soak-00002": "deleted"}, set(), {"seed"}, ["seed", "soak-00001"]
)
INDEXES_OK: dict[str, Any] = {
    "articles": 2,
    "bm25_saved": True,
    "chunks_in_step": 2,
    "orphans": [0, 0],
}


def _passed(checks: list[dict[str, Any]]) -> dict[str, bool]:
    return {c["key"]: c["passed"] for c in checks}


def test_outcomes() -> None:
    assert soak.outcome_of(200) == "ok"
    assert soak.outcome_of(202) == "ok"
    assert soak.outcome_of(503) == "busy"
    assert soak.outcome_of(429) == "limited"
    assert soak.outcome_of(504) == "failed"
    assert soak.outcome_of(500) == "failed"
    assert soak.outcome_of(422) == "refused"
    assert soak.outcome_of(499) == "refused"  # a client that stayed must never see it
    assert soak.outcome_of(None) == "failed"  # no response: a broken connection
    assert soak.outcome_of(200, error="stream error: internal error") == "failed"
    assert soak.outcome_of(None, left=True) == "left"
    assert soak.outcome_of(200, left=True) == "left"


def test_sse_reader() -> None:
    reader = soak.SseReader()
    lines = ["event: token", 'data: {"text": "Hi"}', "", ": keep-alive", "", "event: final", "data: {", "data: }", ""]
    events = [e for line in lines if (e := reader.feed(line)) is not None]
    assert events == [("token", '{"text": "Hi"}'), ("final", "{\n}")]


def test_summary_and_checks_that_pass() -> None:
    summary = soak.summarize_records(_records(), DEADLINE)
    assert list(summary["kinds"]) == [
        "query",
        "chat",
        "stream",
        "stream_left",
        "query_left",
        "search",
        "put",
        "job",
        "job_poll",
        "delete",
    ]
    query = summary["kinds"]["query"]
    assert query["requests"] == 3
    assert query["outcomes"] == {"ok": 2, "busy": 1}
    assert query["classes"] == {"2xx": 2, "5xx": 1}
    assert query["latency_ms"]["n"] == 2 and query["latency_ms"]["p50"] == 3000.0  # only the full answers
    assert query["slowest_s"] == 4.0
    assert summary["kinds"]["stream_left"]["first_token_ms"]["p50"] == 600.0
    assert summary["kinds"]["query_left"]["statuses"] == {"none": 1}
    assert summary["kinds"]["chat"]["outcomes"] == {"limited": 1, "ended": 1}
    assert summary["all"]["requests"] == 14
    assert summary["answers_ok"] == 3 and summary["answers_generated"] == 2
    assert summary["past_deadline_plus_grace"] == 0

    checks = soak.evaluate(summary, 0.4, LISTING_OK, INDEXES_OK)
    assert [c["key"] for c in checks if not c["passed"]] == ["busy"]  # 0 x 5xx: a 503 fails too
    assert {c["key"] for c in checks} == {
        "failures",
        "busy",
        "refused",
        "deadline",
        "slot_free",
        "answers",
        "stored_once",
        "deleted_gone",
        "chunks_in_step",
        "orphans",
    }


def test_no_generated_answer_fails() -> None:
    records = [r for r in _records() if not r.generated]
    assert not _passed(soak.evaluate(soak.summarize_records(records, DEADLINE), 0.1, LISTING_OK, INDEXES_OK))["answers"]


def test_checks_that_fail() -> None:
    records = [
        *_records(),
        Record("client-4", "query", 5.0, 504, "failed", 61.0),
        Record("client-4", "stream", 9.0, 200, "failed", 66.0, detail="stream error: internal error"),
        Record("writer", "delete", 3.0, 404, "refused", 0.02),
    ]
    summary = soak.summarize_records(records, DEADLINE)
    assert summary["past_deadline_plus_grace"] == 1  # 66 s > 60 + 5; 61 s is within
    assert summary["failure_details"] == {"query: 504": 1, "stream: 200 stream error: internal error": 1}
    listing = soak.check_listing({"soak-00001": "present"}, set(), set(), [])
    indexes = {**INDEXES_OK, "chunks_in_step": 1, "orphans": [0, 3]}
    passed = _passed(soak.evaluate(summary, None, listing, indexes))
    assert passed == {
        "failures": False,
        "busy": False,
        "refused": False,
        "deadline": False,
        "slot_free": False,
        "answers": True,
        "stored_once": False,
        "deleted_gone": True,
        "chunks_in_step": False,
        "orphans": False,
    }
    assert not _passed(soak.evaluate(summary, 2.5, LISTING_OK, INDEXES_OK))["slot_free"]
    assert not _passed(soak.evaluate(summary, 0.1, LISTING_OK, {**INDEXES_OK, "bm25_saved": False}))["chunks_in_step"]


def test_check_listing() -> None:
    expected = {"a": "present", "b": "present", "c": "deleted", "d": "deleted", "e": "present"}
    listed = ["seed", "a", "a", "c", "e", "u", "x"]  # a twice, b missing, c back, u uncertain, x unknown
    got = soak.check_listing(expected, {"u"}, {"seed"}, listed)
    assert got["acknowledged_present"] == 4 and got["acknowledged_deleted"] == 2
    assert got["present_once"] == 2  # seed and e
    assert got["deleted_gone"] == 1
    assert (got["missing"], got["duplicated"], got["resurrected"], got["unexpected"]) == (["b"], ["a"], ["c"], ["x"])
    passed = _passed(soak.evaluate(soak.summarize_records(_records(), DEADLINE), 0.1, got, INDEXES_OK))
    assert not passed["stored_once"] and not passed["deleted_gone"]


def test_check_indexes() -> None:
    stored = {"a": ("v1", 2), "b::x": ("v2", 1), "c": ("v3", 1)}  # an id may hold "::"
    chroma = ["a::v1::00000", "a::v1::00001", "b::x::v2::00000", "c::v3::00000", "a::v0::00000", "gone::v9::00000"]
    bm25 = ["a::v1::00000", "a::v1::00001", "b::x::v2::00000"]  # c's chunk is missing here
    got = soak.check_indexes(stored, chroma, bm25)
    assert got["articles"] == 3 and got["chunks_in_step"] == 2
    assert got["out_of_step"] == ["c"]
    assert got["chroma_orphans"] == ["a::v0::00000", "gone::v9::00000"]  # an old version, a deleted article
    assert got["orphans"] == [2, 0]
    assert got["chroma_chunks"] == 6 and got["bm25_chunks"] == 3
    clean = soak.check_indexes(stored, chroma[:4], chroma[:4])
    assert clean["chunks_in_step"] == 3 and clean["orphans"] == [0, 0]
    assert soak.check_indexes(stored, chroma[:4], None)["bm25_saved"] is False


def _result() -> dict[str, Any]:
    summary = soak.summarize_records(_records(), DEADLINE)
    checks = soak.evaluate(summary, 0.35, LISTING_OK, INDEXES_OK)
    settings = {
        "minutes": 10.0,
        "clients": 16,
        "model": "default",
        "seed": 0,
        "request_timeout_s": DEADLINE,
        "max_queued": 8,
        "rate_limit_per_minute": 6000.0,
        "rate_burst": 600,
        "sync_ingest": 4,
    }
    return {
        "settings": settings,
        "duration_s": 601.2,
        "memory": {"start": 2700.4, "peak": 2950.0, "end": 2890.6, "samples": [[0.0, 2700.4]]},
        "summary": summary,
        "checks": checks,
        "passed": True,
    }


def test_baseline_renders_both_tables() -> None:
    summary = soak.baseline(_result(), "python -m bench.soak", "2 cores", "today")
    assert all(key in summary for key in tables.REQUIRED)
    markdown = tables.render_table(summary)
    requests, checks = markdown.split("\n\n")
    assert requests.splitlines()[0] == (
        "| requests | sent | ok | left | 503 | 429 | failed | other 4xx | p50 ms | p95 ms | slowest s |"
    )
    assert requests.splitlines()[1] == "|---|" + "---:|" * 10
    assert "| query, JSON | 3 | 2 | 0 | 1 | 0 | 0 | 0 | 3,000 | 3,900 | 4.0 |" in requests
    assert "| search | 2 | 2 | 0 | 0 | 0 | 0 | 0 | 30.0 | 39.0 | 0.0 |" in requests
    assert "| chat, JSON (half follow-ups) | 2 | 0 | 1 | 0 | 1 | 0 | 0 | - | - | 9.5 |" in requests  # ended: left
    assert requests.splitlines()[-1].startswith("| all | 14 | 9 | 3 | 1 | 1 | 0 | 0 |")
    assert checks.splitlines()[0] == "| check | measured | limit | result |"
    assert "| soak | 10.0 min, 16 clients + 1 writer | | |" in checks
    assert "| server RSS MB: before / peak / after | 2,700 / 2,950 / 2,891 | | |" in checks
    assert "| model slot free after the last client left | 0.35 s | <= 2 s | pass |" in checks
    assert "| slowest request (deadline 60 s) | 9.5 s | <= 65 s | pass |" in checks
    assert "| answers the model wrote, given in full (of all answers in full) | 2 (3) | > 0 | pass |" in checks


def test_dump_summary_keeps_rows_on_one_line() -> None:
    summary = soak.baseline(_result(), "python -m bench.soak", "2 cores", "today")
    text = soak.dump_summary(summary)
    assert json.loads(text) == summary
    assert '    ["query, JSON", "3", "2", "0", "1", "0", "0", "0", "3,000", "3,900", "4.0"],' in text


def test_synthetic_articles_are_distinct_and_repeatable() -> None:
    first = [soak.synthetic_article(n, random.Random(n)) for n in range(50)]
    assert [soak.synthetic_article(n, random.Random(n)) for n in range(50)] == first
    assert len({a["text"] for a in first}) == 50 and len({a["id"] for a in first}) == 50
    replaced = soak.synthetic_article(7, random.Random(7), revision=3)
    assert replaced["id"] == first[7]["id"] and replaced["text"] != first[7]["text"]
