"""Soak: a real server asked, streamed at, left and written to at random for a bounded time, then its store checked.

One ``citewire serve`` over loopback, on a fresh data dir holding the seed article (``citewire ingest seeds/``),
and for ``--minutes``:

- ``--clients`` client tasks, each choosing again and again at random (seeded): a JSON ``/v1/query``; a
  ``/v1/chat`` (half of them follow-ups, which the model first rewrites to stand alone); a streamed ``/v1/query``
  read to its 'final' event; a streamed one left after its first token or after 0.1-3 s; a JSON one left by a
  client timeout after 0.2-3 s; a ``/v1/search``. The questions are bench.query's about the seed article (two it
  cannot answer) and a few off-topic ones. After a 503 or 429 a client waits min(Retry-After, 5) s, else 0-0.5 s.
- one writer, with the API key: it PUTs single articles, POSTs batches of 2-4 (stored before the response) and of
  5-12 (over ``CITEWIRE_SYNC_INGEST_ARTICLES`` = 4: a 202 job, polled until done), replaces and deletes some of
  its own, and keeps every acknowledged article's last state (stored or deleted).

The server runs with ``CITEWIRE_REQUEST_TIMEOUT_S`` 180 (the default deadline), ``CITEWIRE_MAX_QUEUED_REQUESTS`` 16
(every client may wait its turn: the acceptance line is 0 x 5xx, 503 included), the rate limit raised to 6000 a
minute in bursts of 600 (on, but out of the clients' way; ``--rate-limit 0`` turns it off) and
``CITEWIRE_ANSWER_CACHE_SIZE`` 0, so every answer is generated.

Each request's status is kept, and its time from sending to the response's end (or to leaving). When time is up
every client leaves at once (connections closed mid-request), and ``/healthz`` is polled every 0.1 s until
``generating`` and ``queued`` are both 0. Once the writer has finished, ``GET /v1/articles`` (paged) must list
every acknowledged article once and no deleted one; then, the server stopped, Chroma and the saved BM25 copy are
read directly (not through ``ArticleStore``, whose open repairs what it finds) and must hold each stored
article's chunks, of its stored version, and nothing else. The server's RSS is read from /proc every 5 s.

It passes with no 503 and no failure (another 5xx, an 'error' event in a stream, a broken connection or a job that
failed), no 4xx but 429, no request past the deadline + 5 s, the model slot free within 2 s of the last client
leaving, at least one answer, and the articles and indexes as above. 503s and 429s are expected and counted
apart; a client that left never sees its 499. Exit status 1 when a check fails.

    python -m bench.soak                          # 10 min, 16 clients, the default model
    python -m bench.soak --minutes 1 --clients 4 --model tiny --out /tmp/soak.json    # a smoke run

The summary goes to ``--out`` (default bench/baselines/soak.json, table "soak" of docs/BENCHMARKS.md through
bench.tables), every request's record to bench/results/soak-<time>.json, the server's log beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    REPO_ROOT,
    command_line,
    format_table,
    machine_info,
    measure,
    print_header,
    settings_with,
    summarize,
    write_results,
)
from tests.e2e.servers import citewire, free_port, running, write_headers

OUT = REPO_ROOT / "bench" / "baselines" / "soak.json"
SEEDS = REPO_ROOT / "seeds"
DEADLINE_S = 180.0  # CITEWIRE_REQUEST_TIMEOUT_S (the default)
GRACE_S = 5.0  # a request must end within its deadline + this
SLOT_FREE_LIMIT_S = 2.0  # the model slot free this soon after the last client left
SLOT_WAIT_S = 60.0  # polling /healthz gives up after this
HEALTH_POLL_S = 0.1
RETRY_CAP_S = 5.0  # a client waits min(Retry-After, this) after a 503 or 429
MAX_QUEUED = 16  # CITEWIRE_MAX_QUEUED_REQUESTS: every client can wait its turn (the default is 8)
SYNC_INGEST = 4  # CITEWIRE_SYNC_INGEST_ARTICLES: larger batches become 202 jobs
RATE_LIMIT_PER_MINUTE = 6000.0
MEMORY_EVERY_S = 5.0
JOB_POLL_S = 0.25
JOB_WAIT_S = 300.0  # a job not done this long after its 202 counts as failed
SERVER_GONE_CAP_S = 30.0  # past deadline + grace, a request is given up (and counted late)

# What a client asks for, and what the writer does: the table's rows, in this order.
CLIENT_KINDS = ("query", "chat", "stream", "stream_left", "query_left", "search")
WRITER_KINDS = ("put", "replace", "batch", "job", "job_poll", "delete")
LABELS = {
    "query": "query, JSON",
    "chat": "chat, JSON (half follow-ups)",
    "stream": "query, streamed to the end",
    "stream_left": "query, streamed, left at a token or 0.1-3 s",
    "query_left": "query, JSON, left after 0.2-3 s",
    "search": "search",
    "put": "writer: PUT a new article",
    "replace": "writer: PUT over one of its own",
    "batch": f"writer: POST 2-{SYNC_INGEST} (stored at once)",
    "job": f"writer: POST {SYNC_INGEST + 1}-{3 * SYNC_INGEST} (202 job)",
    "job_poll": "writer: GET its job",
    "delete": "writer: DELETE one of its own",
}
WRITER_WEIGHTS = {"put": 3, "replace": 1, "batch": 2, "job": 2, "delete": 3}
ANSWER_KINDS = ("query", "chat", "stream", "stream_left", "query_left")

OFF_TOPIC = (
    "What is the boiling point of water at sea level?",
    "Who painted the Mona Lisa?",
    "How do I reset my router password?",
)
# A first question about the seed article, an assistant turn, and a follow-up the model must rewrite.
FOLLOW_UPS = (
    (
        "What does the White House memo accuse Alibaba of?",
        "It says Alibaba gave technical support to the Chinese army [1].",
        "How did the company respond to that?",
    ),
    (
        "Which newspaper reviewed the White House memo about Alibaba?",
        "The Financial Times reviewed it [1].",
        "Could it verify what it says?",
    ),
    ("Who won the 2022 FIFA World Cup final?", "The articles do not say.", "And who scored the goals?"),
)
SEARCHES = ("harbour plan vote", "tram budget council members", "Alibaba customer data", "festival market days")
WORDS = (
    "harbour council budget tram school river bridge museum festival market station library ferry clinic "
    "stadium orchard factory airport tunnel garden"
).split()


@dataclass
class Record:
    """One request as its client saw it."""

    who: str  # "client-3" or "writer"
    kind: str  # one of CLIENT_KINDS or WRITER_KINDS
    started_s: float  # since the soak began
    status: int | None = None  # None: no response (left before it, or the connection failed)
    # ok, busy (503), limited (429), left (on purpose), ended (in flight when the soak ended), refused (another
    # 4xx), failed
    outcome: str = "failed"
    elapsed_s: float = 0.0  # from sending to the response's end, or to leaving
    first_token_s: float | None = None  # streams: until the first 'token' event
    generated: bool | None = None  # an answer: whether the model wrote it (else an abstention before the model)
    retry_after_s: float | None = None
    detail: str = ""


@dataclass
class Write:
    """A writer's request, and the JSON it was answered with."""

    method: str
    path: str
    body: Any = None
    answer: Any = None


def outcome_of(status: int | None, left: bool = False, error: str | None = None) -> str:
    """What a request came to: ``left`` (on purpose, before its end) wins; an error or no status is a failure."""
    if left:
        return "left"
    if error is not None or status is None:
        return "failed"
    if status == 503:
        return "busy"
    if status == 429:
        return "limited"
    if status >= 500:
        return "failed"
    if 200 <= status < 300:
        return "ok"
    return "refused"


def status_class(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"


class SseReader:
    """Server-Sent Events from a stream's lines: ``feed`` returns (event, data) at the blank line ending one."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if self._event is None and not self._data:
                return None
            event = (self._event or "message", "\n".join(self._data))
            self._event, self._data = None, []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


# --- the pure parts: summaries, checks, tables ---------------------------------------------------


def kind_stats(records: Sequence[Record]) -> dict[str, Any]:
    """Counts by outcome, status and status class; latency of the requests answered in full; the slowest."""
    ok_ms = [r.elapsed_s * 1000 for r in records if r.outcome == "ok"]
    tokens_ms = [r.first_token_s * 1000 for r in records if r.first_token_s is not None]
    return {
        "requests": len(records),
        "outcomes": dict(Counter(r.outcome for r in records)),
        "statuses": dict(Counter("none" if r.status is None else str(r.status) for r in records)),
        "classes": dict(Counter(status_class(r.status) for r in records)),
        "latency_ms": summarize(ok_ms),
        "first_token_ms": summarize(tokens_ms),
        "slowest_s": round(max((r.elapsed_s for r in records), default=0.0), 2),
    }


def summarize_records(records: Sequence[Record], deadline_s: float) -> dict[str, Any]:
    """Stats per kind (in the table's order, kinds without requests left out) and for all; the latecomers."""
    kinds = {
        kind: kind_stats(mine)
        for kind in (*CLIENT_KINDS, *WRITER_KINDS)
        if (mine := [r for r in records if r.kind == kind])
    }
    late = [r for r in records if r.elapsed_s > deadline_s + GRACE_S]
    failures = [r for r in records if r.outcome == "failed"]
    return {
        "kinds": kinds,
        "all": kind_stats(records),
        "deadline_s": deadline_s,
        "past_deadline_plus_grace": len(late),
        "late": [asdict(r) for r in late[:20]],
        "failures": [asdict(r) for r in failures[:50]],
        "failure_details": dict(Counter(f"{r.kind}: {r.status} {r.detail}".strip() for r in failures)),
        "answers_ok": sum(1 for r in records if r.kind in ANSWER_KINDS and r.outcome == "ok"),
        "answers_generated": sum(1 for r in records if r.kind in ANSWER_KINDS and r.outcome == "ok" and r.generated),
    }


def check_listing(
    expected: dict[str, str], uncertain: set[str], initial: set[str], listed: Sequence[str]
) -> dict[str, Any]:
    """The articles ``GET /v1/articles`` listed against what was acknowledged: ``expected`` maps each id the
    writer was told it stored or deleted to "present" or "deleted"; ``initial`` were there before the soak;
    ``uncertain`` (a write that failed) may be either."""
    counts = Counter(listed)
    present = {aid for aid, state in expected.items() if state == "present"} | initial
    deleted = {aid for aid, state in expected.items() if state == "deleted"}
    return {
        "acknowledged_present": len(present),
        "acknowledged_deleted": len(deleted),
        "uncertain": len(uncertain),
        "listed": len(listed),
        "present_once": sum(1 for aid in present if counts[aid] == 1),
        "deleted_gone": sum(1 for aid in deleted if counts[aid] == 0),
        "missing": sorted(aid for aid in present if counts[aid] == 0),
        "duplicated": sorted(aid for aid, n in counts.items() if n > 1),
        "resurrected": sorted(aid for aid in deleted if counts[aid] > 0),
        "unexpected": sorted(set(counts) - present - deleted - uncertain),
    }


def check_indexes(
    stored: dict[str, tuple[str, int]], chroma_ids: Iterable[str], bm25_ids: Iterable[str] | None
) -> dict[str, Any]:
    """Each stored article (id -> its record's version and chunk count) against the chunk ids of Chroma and of
    the saved BM25 copy (None: there is none): the same count of chunks in both, all of its stored version; a
    chunk of no stored article, or of another version, is an orphan."""
    from index.records import chunk_owner  # imported here: index.records loads Chroma and LlamaIndex (seconds)

    def owned(ids: Iterable[str]) -> tuple[Counter[str], list[str]]:
        per_article: Counter[str] = Counter()
        orphans = []
        for cid in ids:
            owner = chunk_owner(cid)
            if owner is not None and owner[0] in stored and stored[owner[0]][0] == owner[1]:
                per_article[owner[0]] += 1
            else:
                orphans.append(cid)
        return per_article, sorted(orphans)

    in_chroma, chroma_orphans = owned(chroma_ids)
    in_bm25, bm25_orphans = owned(bm25_ids or ())
    in_step = [aid for aid, (_, n) in stored.items() if in_chroma[aid] == n and in_bm25[aid] == n]
    return {
        "articles": len(stored),
        "bm25_saved": bm25_ids is not None,
        "chunks_in_step": len(in_step),
        "out_of_step": sorted(set(stored) - set(in_step))[:50],
        "chroma_chunks": sum(in_chroma.values()) + len(chroma_orphans),
        "bm25_chunks": sum(in_bm25.values()) + len(bm25_orphans),
        "chroma_orphans": chroma_orphans[:50],
        "bm25_orphans": bm25_orphans[:50],
        "orphans": [len(chroma_orphans), len(bm25_orphans)],
    }


def evaluate(
    summary: dict[str, Any], slot_free_s: float | None, listing: dict[str, Any], indexes: dict[str, Any]
) -> list[dict[str, Any]]:
    """The acceptance checks, each with what was measured, its limit and whether it passed."""
    everything = summary["all"]
    outcomes = everything["outcomes"]
    deadline = summary["deadline_s"]
    slowest = everything["slowest_s"]
    out_of_step = indexes["articles"] - indexes["chunks_in_step"]
    chroma_orphans, bm25_orphans = indexes["orphans"]
    listed_wrong = len(listing["missing"]) + len(listing["duplicated"]) + len(listing["unexpected"])

    def check(key: str, name: str, measured: str, limit: str, passed: bool) -> dict[str, Any]:
        return {"key": key, "check": name, "measured": measured, "limit": limit, "passed": passed}

    return [
        check(
            "failures",
            "failed: 5xx but 503, stream 'error' events, broken connections, failed jobs",
            f"{outcomes.get('failed', 0):,}",
            "0",
            outcomes.get("failed", 0) == 0,
        ),
        check(
            "busy", "503 (the model's queue full)", f"{outcomes.get('busy', 0):,}", "0", outcomes.get("busy", 0) == 0
        ),
        check("refused", "4xx other than 429", f"{outcomes.get('refused', 0):,}", "0", outcomes.get("refused", 0) == 0),
        check(
            "deadline",
            f"slowest request (deadline {deadline:g} s)",
            f"{slowest:,.1f} s",
            f"<= {deadline + GRACE_S:g} s",
            summary["past_deadline_plus_grace"] == 0,
        ),
        check(
            "slot_free",
            "model slot free after the last client left",
            "never" if slot_free_s is None else f"{slot_free_s:.2f} s",
            f"<= {SLOT_FREE_LIMIT_S:g} s",
            slot_free_s is not None and slot_free_s <= SLOT_FREE_LIMIT_S,
        ),
        check(
            "answers",
            "answers the model wrote, given in full (of all answers in full)",
            f"{summary['answers_generated']:,} ({summary['answers_ok']:,})",
            "> 0",
            summary["answers_generated"] > 0,
        ),
        check(
            "stored_once",
            "acknowledged articles listed exactly once",
            f"{listing['present_once']:,} of {listing['acknowledged_present']:,}",
            "all",
            listed_wrong == 0 and listing["present_once"] == listing["acknowledged_present"],
        ),
        check(
            "deleted_gone",
            "deleted articles gone",
            f"{listing['deleted_gone']:,} of {listing['acknowledged_deleted']:,}",
            "all",
            not listing["resurrected"],
        ),
        check(
            "chunks_in_step",
            "stored articles with all their chunks in Chroma and BM25",
            f"{indexes['chunks_in_step']:,} of {indexes['articles']:,}",
            "all",
            indexes["bm25_saved"] and out_of_step == 0,
        ),
        check(
            "orphans",
            "orphan chunks, Chroma / BM25",
            f"{chroma_orphans:,} / {bm25_orphans:,}",
            "0 / 0",
            chroma_orphans == 0 and bm25_orphans == 0,
        ),
    ]


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


REQUEST_COLUMNS = [
    "requests",
    "sent",
    "ok",
    "left",
    "503",
    "429",
    "failed",
    "other 4xx",
    "p50 ms",
    "p95 ms",
    "slowest s",
]
CHECK_COLUMNS = ["check", "measured", "limit", "result"]


def request_rows(summary: dict[str, Any]) -> list[list[str]]:
    """One row per kind of request, then all of them; latency of the requests answered in full."""
    rows = []
    for kind, stats in [*summary["kinds"].items(), ("all", summary["all"])]:
        outcomes, latency = stats["outcomes"], stats["latency_ms"]
        rows.append(
            [
                LABELS.get(kind, kind),
                f"{stats['requests']:,}",
                f"{outcomes.get('ok', 0):,}",
                f"{outcomes.get('left', 0) + outcomes.get('ended', 0):,}",
                *(f"{outcomes.get(o, 0):,}" for o in ("busy", "limited", "failed", "refused")),
                _ms(latency["p50"]) if latency["n"] else "-",
                _ms(latency["p95"]) if latency["n"] else "-",
                f"{stats['slowest_s']:,.1f}",
            ]
        )
    return rows


def check_rows(soak: dict[str, Any]) -> list[list[str]]:
    """The run's size and the server's memory, then the acceptance checks."""
    memory = soak["memory"]
    rows = [
        [
            "soak",
            f"{soak['duration_s'] / 60:.1f} min, {soak['settings']['clients']} clients + 1 writer",
            "",
            "",
        ],
        ["server RSS MB: before / peak / after", " / ".join(_mb(memory[k]) for k in ("start", "peak", "end")), "", ""],
    ]
    rows += [[c["check"], c["measured"], c["limit"], "pass" if c["passed"] else "FAIL"] for c in soak["checks"]]
    return rows


def baseline(soak: dict[str, Any], command: str, machine: str, measured: str) -> dict[str, Any]:
    """The summary bench/tables.py renders: the requests table, then the checks table (``more_tables``)."""
    s = soak["settings"]
    rate = (
        "off" if not s["rate_limit_per_minute"] else f"{s['rate_limit_per_minute']:g}/min, bursts of {s['rate_burst']}"
    )
    threads = f"{s['llm_threads']} LLM thread(s)" if s.get("llm_threads") else "LLM threads on every core"
    what = (
        f"A real citewire serve ({s['model']} model, {threads}, answer cache off, request timeout "
        f"{s['request_timeout_s']:g} s, queue {s['max_queued']}, rate limit {rate}, jobs over {s['sync_ingest']} "
        "articles) over loopback, on the "
        f"seed article, for {s['minutes']:g} min: {s['clients']} clients asking, streaming and leaving at random "
        f"(seed {s['seed']}) while a writer adds, replaces and deletes articles. Latency: sending to the response's "
        "end, of requests answered in full; slowest: any request. 503 and 429 are expected (a client then waits "
        "min(Retry-After, 5) s). Then /healthz until the model slot is free, GET /v1/articles against every "
        "acknowledged write, and the stopped server's Chroma and saved BM25 read directly. RSS from /proc."
    )
    return {
        "title": "Soak: clients asking, streaming and leaving at random while a writer adds and deletes",
        "what": what,
        "command": command,
        "machine": machine,
        "measured": measured,
        "align": "l" + "r" * (len(REQUEST_COLUMNS) - 1),
        "columns": REQUEST_COLUMNS,
        "rows": request_rows(soak["summary"]),
        "more_tables": [{"align": "lrrl", "columns": CHECK_COLUMNS, "rows": check_rows(soak)}],
        "passed": soak["passed"],
        "soak": {key: value for key, value in soak.items() if key != "summary"}
        | {"requests": {"kinds": soak["summary"]["kinds"], "all": soak["summary"]["all"]}},
    }


def dump_summary(summary: dict[str, Any]) -> str:
    """JSON with every list of plain values (a table row) on one line."""
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    return re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s*\]", lambda m: "[" + re.sub(r",\n\s*", ", ", m[1]) + "]", text) + "\n"


# --- the soak itself -----------------------------------------------------------------------------


def synthetic_article(n: int, rng: random.Random, revision: int = 0) -> dict[str, str]:
    """Article ``soak-<n>``: 3-24 sentences (one to about six chunks), a text no other article has."""
    text = " ".join(
        f"Soak report {n}.{revision} from district {rng.randint(1, 99)}: the {rng.choice(WORDS)} plan number "
        f"{rng.randint(100, 99_999)} was discussed by {rng.randint(3, 40)} members, who asked for "
        f"{rng.randint(2, 90)} more days before the {rng.choice(WORDS)} vote."
        for _ in range(rng.randint(3, 24))
    )
    return {
        "id": f"soak-{n:05d}",
        "title": f"Soak story {n}",
        "text": text,
        "source": "soak.example",
        "published_at": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }


def _generated(answer: Any) -> bool:
    """Whether the model wrote this answer (an abstention at the relevance gate takes no generation)."""
    return bool(answer.get("timings_ms", {}).get("generate", 0) > 0)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class Soak:
    """The clients, the writer, and what they saw."""

    def __init__(self, base: str, deadline_s: float, seed: int, questions: Sequence[str]) -> None:
        self.base = base
        self.deadline_s = deadline_s
        self.hard_cap_s = deadline_s + GRACE_S + SERVER_GONE_CAP_S
        self.seed = seed
        self.questions = [*questions, *OFF_TOPIC]
        self.records: list[Record] = []
        self.expected: dict[str, str] = {}  # article id -> "present" / "deleted", as last acknowledged
        self.uncertain: set[str] = set()  # written or deleted by a request that failed: either state
        self.job_done_s: list[float] = []
        self.t0 = time.monotonic()
        self._next_article = 0

    # -- requests ------------------------------------------------------------------------------

    async def send(
        self, http: httpx.AsyncClient, who: str, kind: str, rng: random.Random, write: Write | None = None
    ) -> Record:
        """One request of ``kind``, recorded whatever happens (cancelled mid-request when the soak ends: "ended").

        The writer's say what to send in ``write``, and get the response's JSON back in it."""
        started = time.monotonic()
        record = Record(who, kind, round(started - self.t0, 3))
        try:
            async with asyncio.timeout(self.hard_cap_s):
                await self._exchange(http, kind, rng, record, write)
        except TimeoutError:
            record.outcome, record.detail = "failed", f"no end after {self.hard_cap_s:g} s"
        except httpx.HTTPError as exc:
            record.outcome, record.detail = "failed", type(exc).__name__
        except Exception as exc:  # an answer not shaped as documented, say: counted, and the client carries on
            record.outcome, record.detail = "failed", f"{type(exc).__name__}: {exc}"[:300]
        except asyncio.CancelledError:
            record.outcome = "ended"
            raise
        finally:
            record.elapsed_s = round(time.monotonic() - started, 3)
            self.records.append(record)
        return record

    async def _exchange(
        self, http: httpx.AsyncClient, kind: str, rng: random.Random, record: Record, write: Write | None
    ) -> None:
        left, error = False, None
        if kind in ("stream", "stream_left"):
            by_token = kind == "stream_left" and rng.random() < 0.5
            after = rng.uniform(0.1, 3.0) if kind == "stream_left" and not by_token else None
            try:
                async with asyncio.timeout(after):
                    left, error = await self._stream(http, {"question": rng.choice(self.questions)}, record, by_token)
            except TimeoutError:
                left = True
        elif kind == "query_left":
            try:
                async with asyncio.timeout(rng.uniform(0.2, 3.0)):
                    body = {"question": rng.choice(self.questions)}
                    error, answer = await self._json(http, "POST", "/v1/query", record, body)
                    record.generated = None if answer is None else _generated(answer)
            except TimeoutError:
                left = True
        elif write is None:
            path, body = self._body(kind, rng)
            record.detail = "follow-up" if len(body.get("messages", ())) > 1 else ""
            error, answer = await self._json(http, "POST", path, record, body)
            if kind != "search" and answer is not None:
                record.generated = _generated(answer)
        else:
            error, write.answer = await self._json(http, write.method, write.path, record, write.body)
        record.outcome = outcome_of(record.status, left, error)
        record.detail = error or record.detail

    def _body(self, kind: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        if kind == "chat":
            first, reply, follow_up = rng.choice(FOLLOW_UPS)
            if rng.random() < 0.5:
                return "/v1/chat", {"messages": [{"role": "user", "content": rng.choice(self.questions)}]}
            turns = [("user", first), ("assistant", reply), ("user", follow_up)]
            return "/v1/chat", {"messages": [{"role": role, "content": text} for role, text in turns]}
        if kind == "search":
            return "/v1/search", {"question": rng.choice([*self.questions, *SEARCHES])}
        return "/v1/query", {"question": rng.choice(self.questions)}

    @staticmethod
    async def _json(
        http: httpx.AsyncClient, method: str, path: str, record: Record, body: Any = None
    ) -> tuple[str | None, Any]:
        """(error, the response's JSON) of a request read whole."""
        response = await http.request(method, path, json=body)
        record.status = response.status_code
        record.retry_after_s = _retry_after(response)
        if response.status_code >= 400:
            record.detail = response.text[:300]
            return None, None
        try:
            return None, response.json()
        except ValueError:
            return "the body is not JSON", None

    async def _stream(
        self, http: httpx.AsyncClient, body: dict[str, Any], record: Record, leave_at_token: bool
    ) -> tuple[bool, str | None]:
        """(left, error) of a streamed /v1/query: read to its 'final' event, or left at its first 'token'."""
        started = time.monotonic()
        async with http.stream("POST", "/v1/query", json={**body, "stream": True}) as response:
            record.status = response.status_code
            record.retry_after_s = _retry_after(response)
            if response.status_code != 200:
                await response.aread()
                record.detail = response.text[:300]
                return False, None
            reader = SseReader()
            async for line in response.aiter_lines():
                event = reader.feed(line)
                if event is None:
                    continue
                name, data = event
                if name == "token":
                    if record.first_token_s is None:
                        record.first_token_s = round(time.monotonic() - started, 3)
                    if leave_at_token:
                        return True, None  # closing the response closes the connection
                elif name == "final":
                    record.generated = _generated(json.loads(data))
                    return False, None
                elif name == "error":
                    return False, f"stream error: {data[:300]}"
        return False, "the stream ended without a 'final' event"

    # -- the clients ---------------------------------------------------------------------------

    async def client(self, n: int) -> None:
        """Ask, stream and leave at random until cancelled."""
        rng = random.Random(f"{self.seed}:client:{n}")
        async with httpx.AsyncClient(base_url=self.base, timeout=self.hard_cap_s) as http:
            while True:
                record = await self.send(http, f"client-{n}", rng.choice(CLIENT_KINDS), rng)
                await asyncio.sleep(self._pause(record, rng))

    @staticmethod
    def _pause(record: Record, rng: random.Random) -> float:
        if record.outcome in ("busy", "limited"):
            return min(record.retry_after_s or 1.0, RETRY_CAP_S)
        return rng.uniform(0.0, 0.5)

    # -- the writer ----------------------------------------------------------------------------

    async def writer(self, headers: dict[str, str], stop_at: float) -> None:
        """Add, replace and delete articles until ``stop_at``; each operation (and its job) is seen to its end."""
        rng = random.Random(f"{self.seed}:writer")
        async with httpx.AsyncClient(base_url=self.base, timeout=self.hard_cap_s, headers=headers) as http:
            while time.monotonic() < stop_at:
                mine = sorted(aid for aid, state in self.expected.items() if state == "present")
                op = rng.choices(list(WRITER_WEIGHTS), weights=list(WRITER_WEIGHTS.values()))[0]
                if op in ("replace", "delete") and not mine:
                    op = "put"
                if op == "put":
                    await self._put(http, rng, "put", self._new(rng))
                elif op == "replace":
                    aid = rng.choice(mine)
                    await self._put(http, rng, "replace", synthetic_article(int(aid[5:]), rng, rng.randint(1, 10**6)))
                elif op == "batch":
                    await self._post(http, rng, [self._new(rng) for _ in range(rng.randint(2, SYNC_INGEST))])
                elif op == "job":
                    await self._post(http, rng, [self._new(rng) for _ in range(rng.randint(SYNC_INGEST + 1, 12))])
                else:
                    await self._delete(http, rng, rng.choice(mine))
                await asyncio.sleep(rng.uniform(0.2, 1.0))

    def _new(self, rng: random.Random) -> dict[str, str]:
        self._next_article += 1
        return synthetic_article(self._next_article, rng)

    async def _write(
        self, http: httpx.AsyncClient, rng: random.Random, kind: str, method: str, path: str, body: Any = None
    ) -> tuple[Record, Any]:
        """A write and its answer's JSON, retried (after min(Retry-After, 5) s) while the server answers 503 or 429."""
        while True:
            write = Write(method, path, body)
            record = await self.send(http, "writer", kind, rng, write)
            if record.outcome not in ("busy", "limited"):
                return record, write.answer
            await asyncio.sleep(self._pause(record, rng))

    def _acknowledge(self, results: Sequence[dict[str, Any]]) -> None:
        for result in results:
            aid = str(result["id"])
            if result.get("duplicate_of"):  # stored under another id: this one is not in the store
                self.uncertain.add(aid)
                self.expected.pop(aid, None)
            else:
                self.expected[aid] = "present"
                self.uncertain.discard(aid)

    def _unsure(self, ids: Iterable[str]) -> None:
        """A write that failed: what it would have changed may or may not be changed (a stored article stays)."""
        for aid in ids:
            if self.expected.get(aid) != "present":
                self.expected.pop(aid, None)
                self.uncertain.add(aid)

    async def _put(self, http: httpx.AsyncClient, rng: random.Random, kind: str, article: dict[str, str]) -> None:
        aid = article["id"]
        body = {k: v for k, v in article.items() if k != "id"}
        record, answer = await self._write(http, rng, kind, "PUT", f"/v1/articles/{aid}", body)
        if record.outcome == "ok":
            self._acknowledge([answer])
        else:
            self._unsure([aid])

    async def _post(self, http: httpx.AsyncClient, rng: random.Random, articles: list[dict[str, str]]) -> None:
        ids = [a["id"] for a in articles]
        kind = "job" if len(articles) > SYNC_INGEST else "batch"
        record, answer = await self._write(http, rng, kind, "POST", "/v1/articles", {"articles": articles})
        if record.outcome != "ok":
            self._unsure(ids)
            return
        if record.status == 202:
            answer = await self._job_done(http, rng, record, str(answer["id"]))
        if answer is None:
            self._unsure(ids)
        else:
            self._acknowledge(answer["results"])

    async def _job_done(
        self, http: httpx.AsyncClient, rng: random.Random, submitted: Record, job_id: str
    ) -> dict[str, Any] | None:
        """The job once done (its POST's record marked failed if it failed, or is not done in time)."""
        since = time.monotonic()
        while time.monotonic() - since < JOB_WAIT_S:
            poll, job = await self._write(http, rng, "job_poll", "GET", f"/v1/jobs/{job_id}")
            if poll.outcome == "ok":
                if job["status"] == "done":
                    self.job_done_s.append(round(time.monotonic() - since, 3))
                    return dict(job)
                if job["status"] == "failed":
                    submitted.outcome, submitted.detail = "failed", f"job {job_id} failed: {job.get('error')}"
                    return None
            await asyncio.sleep(JOB_POLL_S)
        submitted.outcome, submitted.detail = "failed", f"job {job_id} not done after {JOB_WAIT_S:g} s"
        return None

    async def _delete(self, http: httpx.AsyncClient, rng: random.Random, aid: str) -> None:
        record, _ = await self._write(http, rng, "delete", "DELETE", f"/v1/articles/{aid}")
        if record.outcome == "ok":
            self.expected[aid] = "deleted"
        elif record.outcome != "refused":  # a 404 leaves the article as it was (and is counted)
            self.expected.pop(aid, None)
            self.uncertain.add(aid)


async def list_articles(http: httpx.AsyncClient) -> list[str]:
    """Every listed article id, page by page (a repeat shows as a repeat)."""
    ids: list[str] = []
    offset, total = 0, 1
    while offset < total:
        response = await http.get("/v1/articles", params={"offset": offset, "limit": 1000})
        response.raise_for_status()
        page = response.json()
        total = page["total"]
        ids += [a["id"] for a in page["articles"]]
        offset += page["limit"]
    return ids


async def slot_free_after(http: httpx.AsyncClient, since: float) -> tuple[float | None, list[list[Any]]]:
    """Seconds from ``since`` until /healthz shows no generation and no queue (None: not within SLOT_WAIT_S), and
    what it showed: [seconds, generating, queued] at the first poll and at each change."""
    seen: list[list[Any]] = []
    while time.monotonic() - since < SLOT_WAIT_S:
        try:
            health = (await http.get("/healthz", timeout=2)).json()
            now = round(time.monotonic() - since, 3)
            if not seen or seen[-1][1:] != [health["generating"], health["queued"]]:
                seen.append([now, health["generating"], health["queued"]])
            if health["generating"] == 0 and health["queued"] == 0:
                return now, seen
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            seen.append([round(time.monotonic() - since, 3), type(exc).__name__, None])
        await asyncio.sleep(HEALTH_POLL_S)
    return None, seen


def server_memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (MB); empty once the process is gone."""
    from bench.load import _memory_mb  # imported here: bench.load loads torch and the embedders, the tests need not

    try:
        return _memory_mb(pid)
    except OSError:
        return {}


async def run_soak(
    base: str, pid: int, data_dir: Path, args: argparse.Namespace, questions: Sequence[str]
) -> tuple[Soak, dict[str, Any]]:
    """The soak against a running server; what it saw, and the end: slot, listing and memory."""
    soak = Soak(base, args.request_timeout, args.seed, questions)
    async with httpx.AsyncClient(base_url=base, timeout=soak.hard_cap_s) as http:
        initial = set(await list_articles(http))
        await http.post("/v1/query", json={"question": OFF_TOPIC[0]})  # warm-up, not counted
        memory: list[tuple[float, float]] = []
        start_rss = server_memory_mb(pid).get("rss_mb")

        async def sample() -> None:
            every = min(MEMORY_EVERY_S, args.minutes * 6)
            while True:
                rss = server_memory_mb(pid).get("rss_mb")
                if rss is not None:
                    memory.append((round(time.monotonic() - soak.t0, 1), rss))
                await asyncio.sleep(every)

        async def progress() -> None:
            every = min(30.0, args.minutes * 15)
            while True:
                await asyncio.sleep(every)
                seen = Counter(r.outcome for r in soak.records)
                rss = memory[-1][1] if memory else None
                print(
                    f"{time.monotonic() - soak.t0:6.0f} s: {len(soak.records):,} requests, {dict(seen)}, "
                    f"{len(soak.expected):,} articles written, RSS {_mb(rss)} MB",
                    flush=True,
                )

        soak.t0 = time.monotonic()
        stop_at = soak.t0 + args.minutes * 60
        watchers = [asyncio.create_task(sample()), asyncio.create_task(progress())]
        clients = [asyncio.create_task(soak.client(n)) for n in range(args.clients)]
        writer = asyncio.create_task(soak.writer(write_headers(data_dir), stop_at))
        await asyncio.sleep(stop_at - time.monotonic())
        for task in clients:
            task.cancel()
        for ended in await asyncio.gather(*clients, return_exceptions=True):
            if isinstance(ended, Exception):  # a bug here, not the server's doing
                raise ended
        left_at = time.monotonic()
        duration_s = left_at - soak.t0
        slot_free_s, slot_seen = await slot_free_after(http, left_at)
        await writer  # its last operation, and job, to their end
        listed = await list_articles(http)
        for task in watchers:
            task.cancel()
        end = server_memory_mb(pid)
    peak = max([end.get("peak_mb", 0.0), *(rss for _, rss in memory)])
    return soak, {
        "duration_s": round(duration_s, 1),
        "slot_free_s": slot_free_s,
        "slot_seen": slot_seen,
        "ended_requests": [asdict(r) for r in soak.records if r.outcome == "ended"],
        "listing": check_listing(soak.expected, soak.uncertain, initial, listed),
        "memory": {"start": start_rss, "peak": peak, "end": end.get("rss_mb"), "samples": memory},
    }


def read_indexes(data_dir: Path) -> tuple[dict[str, tuple[str, int]], list[str], list[str] | None]:
    """Straight from the stopped server's files: each article record's (version, chunk count), Chroma's chunk ids,
    the saved BM25 copy's (None when there is none). Not through ArticleStore: opening it would repair the store."""
    from index.chroma import open_client
    from index.sparse import SparseIndex

    settings = settings_with(data_dir)
    saved = SparseIndex.load(settings.sparse_dir)
    client = open_client(settings.chroma_dir)
    chunks = client.get_collection(f"{settings.collection}_chunks", embedding_function=None)
    articles = client.get_collection(f"{settings.collection}_articles", embedding_function=None)
    got = articles.get(include=["metadatas"])
    stored = {
        aid: (str((meta or {}).get("version")), int(str((meta or {}).get("chunk_count", 0))))
        for aid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
    }
    return stored, list(chunks.get(include=[])["ids"]), None if saved is None else sorted(saved.chunk_ids())


def _git_commit() -> str:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    commit = git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    return commit + ("" if git("diff", "--quiet", "HEAD").returncode == 0 else " with uncommitted changes")


def _machine_line(machine: dict[str, Any], others: float | None) -> str:
    try:
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{kb / 1024**2:.0f} GiB, "
    except (OSError, StopIteration):
        memory = ""
    load = machine["load_average"][0] if machine["load_average"] else "?"
    busy = "" if others is None else f"; other processes {others:.2f} cores on average"
    return (
        f"{machine['nproc']} cores ({machine['cpu_model']}), {memory}Python {machine['python']}, torch "
        f"{machine['torch']}; load average {load} at the start{busy}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the clients ask (default 10)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent asking clients (default 16)")
    parser.add_argument("--model", choices=["default", "fast", "tiny"], default="default", help="the LLM profile")
    parser.add_argument("--seed", type=int, default=0, help="seed of every client's and the writer's choices")
    parser.add_argument("--request-timeout", type=float, default=DEADLINE_S, help="CITEWIRE_REQUEST_TIMEOUT_S (180)")
    parser.add_argument(
        "--rate-limit", type=float, default=RATE_LIMIT_PER_MINUTE, help="requests a minute per client; 0: off"
    )
    parser.add_argument("--rate-burst", type=int, default=600, help="CITEWIRE_RATE_LIMIT_BURST (default 600)")
    parser.add_argument(
        "--llm-threads", type=int, help="CITEWIRE_LLM_THREADS (default: the server's, every core); 1 on a busy machine"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="the summary's path (default bench/baselines/soak.json)")
    args = parser.parse_args(argv)
    from bench.query import QUESTIONS  # with LlamaIndex: imported for a run only

    command = command_line("bench.soak")
    machine = machine_info()
    print_header(
        f"soak: {args.clients} clients and a writer for {args.minutes:g} min ({args.model} model)", command, machine
    )
    env = {
        "CITEWIRE_LLM_MODEL": args.model,
        "CITEWIRE_REQUEST_TIMEOUT_S": f"{args.request_timeout:g}",
        "CITEWIRE_MAX_QUEUED_REQUESTS": str(MAX_QUEUED),
        "CITEWIRE_RATE_LIMIT_PER_MINUTE": f"{args.rate_limit:g}",
        "CITEWIRE_RATE_LIMIT_BURST": str(args.rate_burst),
        "CITEWIRE_SYNC_INGEST_ARTICLES": str(SYNC_INGEST),
        "CITEWIRE_ANSWER_CACHE_SIZE": "0",
    }
    if args.llm_threads:
        env["CITEWIRE_LLM_THREADS"] = str(args.llm_threads)
    settings = {
        "minutes": args.minutes,
        "clients": args.clients,
        "model": args.model,
        "seed": args.seed,
        "request_timeout_s": args.request_timeout,
        "max_queued": MAX_QUEUED,
        "rate_limit_per_minute": args.rate_limit,
        "rate_burst": args.rate_burst,
        "sync_ingest": SYNC_INGEST,
        "llm_threads": args.llm_threads,
        "env": env,
    }
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="citewire-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        ingest = subprocess.run(
            citewire("ingest", str(SEEDS), "--data-dir", str(data_dir), "--quiet"),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        if ingest.returncode != 0:
            raise SystemExit(f"citewire ingest seeds/ failed:\n{ingest.stderr[-3000:]}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(tmp) / "server.log"
        serve = citewire("serve", "--data-dir", str(data_dir), "--port", str(port))
        with running(serve, f"{base}/readyz", log, env=env) as proc, measure([proc.pid]) as m:
            soak, end = asyncio.run(run_soak(base, proc.pid, data_dir, args, [q.text for q in QUESTIONS]))
        server_exit = proc.returncode
        indexes = check_indexes(*read_indexes(data_dir))
        finished = datetime.now(UTC)
        summary = summarize_records(soak.records, args.request_timeout)
        checks = evaluate(summary, end["slot_free_s"], end["listing"], indexes)
        result = {
            "settings": settings,
            **end,
            "summary": summary,
            "job_done_s": summarize(soak.job_done_s),
            "indexes": indexes,
            "server_exit": server_exit,
            "checks": checks,
            "passed": all(c["passed"] for c in checks),
        }
        records = [asdict(r) for r in sorted(soak.records, key=lambda r: r.started_s)]
        path = write_results("soak", command, machine, {"soak": result, "records": records})
        shutil.copy(log, path.with_suffix(".log"))
    measured = f"{started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC at {_git_commit()} ({path.name})"
    out = baseline(result, command, _machine_line(machine, m.others_cores), measured)
    print()
    print(format_table(out["columns"], out["rows"]))
    print()
    more = out["more_tables"][0]
    print(format_table(more["columns"], more["rows"]))
    if not result["passed"]:
        print(f"\nfailures: {json.dumps(summary['failure_details'], indent=2)}")
        print(f"listing: {json.dumps(end['listing'])[:2000]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump_summary(out), encoding="utf-8")
    print(f"\nsummary : {args.out}\nrecords : {path}\nserver  : {path.with_suffix('.log')}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
