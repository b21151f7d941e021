"""Fuzzing: schemathesis generates requests from the live OpenAPI schema of a real ``citewire serve``
(seeded, tiny model, 16-token answers) and every response must be a non-5xx that the schema declares:
its status code, its media type and its body; invalid requests must get a 4xx.

Every operation in the schema runs, with valid (positive) and invalid (negative) data, a bounded and
repeatable number of examples each; path parameters are sometimes pinned to a stored article or a
real job so the handlers past the 404 are reached too, and a few hand-written valid requests run
first where generation rarely gets far (a generated answer, a follow-up, a stream). Failures are
collected rather than shrunk, so one run reports every distinct problem with the request that caused
it (as a curl command). A background job a request started must not fail.

Every operation also runs without the key (no ``Authorization`` header, and a wrong key of the right
length), fewer examples each: every write must be refused (401; 403, 413 or 429 are refusals too),
never a 2xx or a 5xx, and every read must pass the same checks as with the key, never a 401 or 403.

Two things schemathesis does not generate are added here: lone surrogates (``"\\ud800"`` in JSON),
which Python strings can hold and UTF-8 cannot encode, in every string of valid bodies; and uploads
of real files in each format (schemathesis names every file "files", an unsupported type). And hostile
requests to the write routes: an empty bearer token, 20 MB bodies without the key (refused before
they are read), and, with the key, a foreign ``Origin`` or a DNS-rebound ``Host`` (403).

``"stream": true`` answers are Server-Sent Events, which the schema does not describe: those are
checked here instead (status 200, well-formed events, and the final event's payload valid against
the JSON response schema of the same route).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.servers import citewire, free_port, running, seeded_server
from tests.e2e.test_seed_http import ANSWERABLE, assert_citations_check_out
from tests.sse import sse_events

pytestmark = pytest.mark.slow

API_KEY = "fuzz-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# The fuzz runs with the key, and without it: no Authorization header at all, or a key as long as the
# real one, one character off.
WRONG_KEY = API_KEY[:-1] + ("0" if API_KEY[-1] != "0" else "1")
AUTHS: dict[str, dict[str, str]] = {"key": AUTH, "no key": {}, "wrong key": {"Authorization": f"Bearer {WRONG_KEY}"}}
ENV = {
    "CITEWIRE_LLM_MODEL": "tiny",
    "CITEWIRE_MAX_ANSWER_TOKENS": "16",
    "CITEWIRE_JUDGE_CLAIMS": "false",
    "CITEWIRE_API_KEY": API_KEY,
    "CITEWIRE_SYNC_INGEST_ARTICLES": "2",
    "CITEWIRE_MAX_BATCH_ARTICLES": "20",
    "CITEWIRE_MAX_REQUEST_BYTES": "200000",
    "CITEWIRE_REQUEST_TIMEOUT_S": "30",
    "CITEWIRE_MAX_QUEUED_REQUESTS": "4",
}
# Per operation and generation mode; CITEWIRE_FUZZ_EXAMPLES raises it for a longer local run.
MAX_EXAMPLES = int(os.environ.get("CITEWIRE_FUZZ_EXAMPLES", "25"))
KEYLESS_EXAMPLES = int(os.environ.get("CITEWIRE_FUZZ_KEYLESS_EXAMPLES", "10"))  # the same, without the key
# A read without the key (or with a wrong one) is served as with it (reads are open), so the keyed run covers
# what it does; two examples show it is not refused. Reads that answer run the model: this keeps them few.
KEYLESS_READ_EXAMPLES = 2
# The rate limit (CITEWIRE_RATE_LIMIT_PER_MINUTE, per key holder, else per client address) answers a
# fast fuzz with 429 + Retry-After now and then: the request is sent again after that wait, this often.
RATE_LIMITED_TRIES = 10
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected, not raised
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # invalid data (negative mode) must get a 4xx
]
CONFIG = {
    "output": {"sanitization": {"enabled": False}},  # full curl commands in reports (the key is a test key)
    "max-stream-events": 100_000,  # read event streams to the end (the default stops after 20 events)
    # schemathesis's default list, without 5xx, and with 413 (a body over CITEWIRE_MAX_REQUEST_BYTES).
    "checks": {
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
        }
    },
    # No Authorization made up for the schema's bearer scheme: which key a request carries is the test's
    # ``auth`` parameter. The schema declares the scheme on reads too (they need it only with
    # CITEWIRE_PROTECT_READS), so a read without it would count as invalid data, and its 200 as a failure.
    "generation": {"with-security-parameters": False},
}
ACCESS_LINE = re.compile(r"INFO: +[\d.]+:\d+ - \"")

# Every operation of the schema, in the order they run: reads first, then writes, DELETE last (it
# removes the seed article the pinned cases read). test_every_operation_is_fuzzed keeps this complete.
OPERATIONS = [
    "GET /healthz",
    "GET /v1/models",
    "GET /v1/articles",
    "GET /v1/articles/{article_id}",
    "GET /v1/articles/{article_id}/passage",
    "GET /v1/jobs/{job_id}",
    "GET /v1/eval/{job_id}",
    "POST /v1/query",
    "POST /v1/search",
    "POST /v1/check",
    "POST /v1/chat",
    "POST /v1/chat/completions",
    "POST /v1/eval",
    "POST /v1/articles",
    "POST /v1/articles/upload",
    "PUT /v1/articles/{article_id}",
    "DELETE /v1/articles/{article_id}",
]
# The operations that need the key (the rest are reads, open without it: CITEWIRE_PROTECT_READS is off).
WRITE_OPERATIONS = {
    "POST /v1/eval",
    "POST /v1/articles",
    "POST /v1/articles/upload",
    "PUT /v1/articles/{article_id}",
    "DELETE /v1/articles/{article_id}",
}
# How a write without the key may be refused: no key (401); and the checks that come before it, an
# Origin (403, none is sent here), a body over CITEWIRE_MAX_REQUEST_BYTES (413), the rate limit (429).
REFUSED = {401, 403, 413, 429}
# No request to these can break the schema (no parameters, or only a path string, which any value
# fits), so schemathesis cannot generate negative cases for them: they run with valid data only.
NO_INVALID_INPUT = {
    "GET /healthz",
    "GET /v1/models",
    "GET /v1/articles/{article_id}",
    "GET /v1/jobs/{job_id}",
    "GET /v1/eval/{job_id}",
    "DELETE /v1/articles/{article_id}",
}
# Routes that answer Server-Sent Events when the body says "stream": true.
STREAMING = {"/v1/query", "/v1/chat", "/v1/chat/completions"}

QUESTION = "Which AI model does Alibaba own?"
ARTICLE = {
    "id": "fuzz-article",
    "title": "Alibaba and the memo",
    "text": "The memo said Alibaba gave customer data to the army. Alibaba called the claims nonsense.",
    "url": "https://example.com/fuzz-article",
    "source": "example.com",
    "published_at": "2025-11-18",
    "section": "Business",
    "author": "A. Writer",
    "lang": "en",
}
# Valid requests: run before the generated ones (positive mode), so the paths that generation rarely
# reaches (an answer that is generated, streamed or not; a follow-up) are always covered; and, with a
# lone surrogate put in each of their strings in turn, by test_lone_surrogates_are_client_errors.
EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "POST /v1/query": [
        {"question": QUESTION, "stream": True},
        {"question": QUESTION, "top_k": 3, "filters": {"source": "BB.LV", "published_after": "2025-01-01"}},
    ],
    "POST /v1/search": [
        {"question": QUESTION, "top_k": 2, "filters": {"article_ids": ["000_070c77320a5da855"]}},
    ],
    "POST /v1/check": [
        {"text": "Alibaba called the claims nonsense. The memo came out in 2025.", "filters": {"source": "BB.LV"}},
    ],
    "POST /v1/chat": [
        {
            "messages": [
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": "Alibaba owns Qwen [1]."},
                {"role": "user", "content": "Who accused it of helping the military?"},
            ],
            "stream": True,
        }
    ],
    "POST /v1/chat/completions": [
        {
            "model": "citewire",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": "Alibaba owns Qwen [1]."},
                {"role": "user", "content": [{"type": "text", "text": "Who accused it?"}], "name": "reader"},
            ],
        },
        {"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}], "stream": True},
    ],
    "POST /v1/eval": [
        {
            "questions": [
                {
                    "id": "q1",
                    "question": "What did Alibaba call the claims?",
                    "answer": "nonsense",
                    "choices": ["nonsense", "true"],
                    "answer_index": 0,
                    "evidence": [{"article_id": "000_070c77320a5da855"}],
                }
            ]
        }
    ],
    "POST /v1/articles": [ARTICLE, {"articles": [{**ARTICLE, "id": f"fuzz-batch-{i}"} for i in range(3)]}],
    "PUT /v1/articles/{article_id}": [{**ARTICLE, "id": None}],
}
LONE_SURROGATE = "\ud800"
# Routes that need the API key (CITEWIRE_API_KEY is set; reads stay open).
WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/articles", {"json": {"text": "An article."}}),
    ("POST", "/v1/articles/upload", {"files": {"files": ("a.txt", b"An article.", "text/plain")}}),
    ("PUT", "/v1/articles/fuzz-auth", {"json": {"text": "An article."}}),
    ("DELETE", "/v1/articles/fuzz-auth", {}),
    ("POST", "/v1/eval", {"json": {"questions": [{"id": "q", "question": "Who?", "answer": "x"}]}}),
]


@dataclass
class Server:
    base: str
    data_dir: Path
    article_id: str  # the seed article
    ingest_job: str
    eval_job: str
    stop: Callable[[], None]  # ends the fuzzed server (the last test restarts on its data dir)


@dataclass
class Findings:
    """Distinct failures: the first report for each key (operation, mode, status, checks)."""

    items: dict[tuple[str, ...], str] = field(default_factory=dict)

    def add(self, key: tuple[str, ...], report: str) -> None:
        self.items.setdefault(key, report[:4000])

    def report(self, server: Server) -> str:
        found = "\n\n".join(f"=== {' | '.join(key)}\n{report}" for key, report in self.items.items())
        return f"{len(self.items)} distinct failure(s):\n\n{found}\n\n{_log_tail(server)}"


@dataclass
class Exchanges:
    """Sends cases, checks the responses, and remembers the background jobs they started."""

    server: Server
    schema: schemathesis.BaseSchema
    auth: str = "key"  # which of AUTHS the requests carry
    findings: Findings = field(default_factory=Findings)
    streams: int = 0
    jobs: list[tuple[str, tuple[str, ...], str]] = field(default_factory=list)  # (job URL path, key, curl)
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, case: schemathesis.Case, key: tuple[str, ...]) -> None:
        headers = AUTHS[self.auth]
        curl = case.as_curl_command(headers, base_url=self.server.base)
        for _ in range(RATE_LIMITED_TRIES):
            try:
                response = case.call(base_url=self.server.base, session=self.session, headers=headers, timeout=120)
            except requests.RequestException as exc:  # e.g. a stream cut off by an exception in the server
                self.findings.add((*key, "no response"), f"{type(exc).__name__}: {exc}\n{curl}")
                return
            if response.status_code != 429:
                break
            # Refused before the app saw it: wait as told, and send it again (the limit is not fuzzed here).
            retry_after = response.headers.get("retry-after", [""])[0]
            if not retry_after.isdigit():
                self.findings.add((*key, "429 without Retry-After"), f"{response.headers}\n{curl}")
                return
            time.sleep(int(retry_after))
        problem = self._access_problem(case.operation.label, response)
        if problem:
            self.findings.add((*key, str(response.status_code), problem), f"{problem}\n{curl}")
            return
        if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
            self.streams += 1
            problem = _stream_problem(self.schema.raw_schema, case.operation.path, response)
            if problem:
                self.findings.add((*key, "event stream"), f"{problem}\n{curl}")
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            titles = sorted({failure.title for failure in group.exceptions})
            self.findings.add((*key, str(response.status_code), *titles), str(group))
            return
        if response.status_code == 202:
            jobs = "/v1/eval" if case.operation.path == "/v1/eval" else "/v1/jobs"
            self.jobs.append((f"{jobs}/{json.loads(response.content)['id']}", key, curl))

    def _access_problem(self, label: str, response: schemathesis.Response) -> str | None:
        """Without the key: a write that was not refused, or a read that was (reads are open)."""
        if self.auth == "key":
            return None
        status = response.status_code
        if label in WRITE_OPERATIONS:
            if status not in REFUSED:
                return f"a write with {self.auth} was not refused: {status} {response.content[:300]!r}"
            if status == 401 and response.headers.get("www-authenticate") != ["Bearer"]:
                return f"a 401 without 'WWW-Authenticate: Bearer': {response.headers}"
        elif status in (401, 403):
            return f"a read with {self.auth} was refused: {status} {response.content[:300]!r}"
        return None

    def check_jobs(self, wait_s: float = 60) -> None:
        """A job that failed is a finding; one still running after ``wait_s`` is left alone (slow, not wrong)."""
        deadline = time.monotonic() + wait_s
        for path, key, curl in self.jobs:
            while True:
                job = _unthrottled(httpx.get, f"{self.server.base}{path}", timeout=30).json()
                if job["status"] == "failed":
                    self.findings.add((*key, "job failed"), f"{path}: {job['error']}\nstarted by: {curl}")
                if job["status"] in ("done", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("citewire-fuzz")
    with ExitStack() as stack:
        base = stack.enter_context(seeded_server(data_dir, ENV))
        listed = httpx.get(f"{base}/v1/articles", params={"limit": 1}, timeout=30).json()
        batch = {"articles": [{"id": f"fuzz-{i}", "text": f"Fuzz article number {i}."} for i in range(3)]}
        ingest = httpx.post(f"{base}/v1/articles", json=batch, headers=AUTH, timeout=120)
        assert ingest.status_code == 202, ingest.text
        questions = {"questions": [{"id": "q1", "question": "0", "answer": "nothing"}]}
        evaluation = httpx.post(f"{base}/v1/eval", json=questions, headers=AUTH, timeout=60)
        assert evaluation.status_code == 202, evaluation.text
        seed, ingest_id, eval_id = listed["articles"][0]["id"], ingest.json()["id"], evaluation.json()["id"]
        yield Server(base, data_dir, seed, ingest_id, eval_id, stack.close)


@pytest.fixture(scope="module")
def schema(server: Server) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(CONFIG)  # also keeps a schemathesis.toml nearby out of it
    return schemathesis.openapi.from_url(f"{server.base}/openapi.json", config=config, timeout=30)


def test_every_operation_is_fuzzed(schema: schemathesis.BaseSchema) -> None:
    live = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read would go unfuzzed
        live.add(result.ok().label)
    assert live == set(OPERATIONS), "add new operations to OPERATIONS (or say why one is left out)"
    assert live >= WRITE_OPERATIONS


@pytest.mark.parametrize(
    ("label", "mode", "auth"),
    [
        pytest.param(label, mode, auth, id=f"{label}-{mode}" + ("" if auth == "key" else f"-{auth}"))
        # Without the key first: its writes change nothing, so the pinned reads still find the seed article.
        for auth in ("no key", "wrong key", "key")
        for label in OPERATIONS
        for mode in GenerationMode
        if not (mode.is_negative and label in NO_INVALID_INPUT)
    ],
)
def test_fuzz(server: Server, schema: schemathesis.BaseSchema, label: str, mode: GenerationMode, auth: str) -> None:
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    pinned = _pinned_path_parameters(server, path)
    if pinned:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    exchanges = Exchanges(server, schema, auth)

    keyless = KEYLESS_EXAMPLES if label in WRITE_OPERATIONS else KEYLESS_READ_EXAMPLES

    @settings(SETTINGS, max_examples=MAX_EXAMPLES if auth == "key" else keyless)
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        exchanges.send(case, (label, str(mode), auth))

    if mode.is_positive:
        for body in EXAMPLES.get(label, []):
            case = operation.Case(body=body, media_type="application/json", path_parameters=pinned or None)
            run = example(case=case)(run)
    run()
    exchanges.check_jobs()
    assert not exchanges.findings.items, exchanges.findings.report(server)
    if path in STREAMING and mode.is_positive:
        assert exchanges.streams, "no request asked for a stream: the event stream checks did not run"


def test_lone_surrogates_are_client_errors(server: Server, schema: schemathesis.BaseSchema) -> None:
    """JSON can escape a lone surrogate ("\\ud800"), which no UTF-8 output can hold: each string of each
    valid body gets one in turn, and must be refused (422) or stored, answered, or evaluated without a 5xx."""
    exchanges = Exchanges(server, schema)
    for label, bodies in EXAMPLES.items():
        method, path = label.split(" ", 1)
        operation = schema[path][method]
        pinned = {"article_id": "fuzz-surrogate"} if "{article_id}" in path else None
        for body in bodies:
            for where, poisoned in _with_lone_surrogates(body):
                case = operation.Case(body=poisoned, media_type="application/json", path_parameters=pinned)
                exchanges.send(case, (label, where))
    exchanges.check_jobs()
    assert not exchanges.findings.items, exchanges.findings.report(server)


# Uploads: schemathesis names every generated file after its field ("files", no suffix), so it only
# ever reaches the unsupported-type 422; these files have real names and contents in each format.
_PIECES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x00", "\ud800", "\udc00x", "\r\n", "\n\n", "READ ALSO", "Alibaba", "é", "\ufeff", "<b>"]),
)
_WORDS = st.lists(
    st.one_of(
        st.sampled_from("The memo said Alibaba gave data to the army . Компания 公司 déjà vu [1] 2025".split()),
        st.text(min_size=1, max_size=8),
    ),
    min_size=12,
    max_size=60,
).map(" ".join)
# Mostly enough words to be an article (so the upload is stored), with odd characters in between.
_TEXT = st.one_of(
    st.tuples(_WORDS, _PIECES, _WORDS).map("".join),
    _WORDS,
    st.lists(_PIECES, max_size=4).map("".join),
)
_HEADER = st.sampled_from(
    ["", "Title\n\n", "A title\nBusiness\nBB.LV\nPublished: 18.11.2025 09:21\n\n", "# T\n2025-13-45\n"]
)
_VALUE = st.one_of(st.none(), st.integers(), st.booleans(), _PIECES, st.lists(_PIECES, max_size=2))
_RECORD = st.one_of(
    st.fixed_dictionaries(
        {"text": _TEXT},
        optional={k: st.one_of(_PIECES, _VALUE) for k in ("id", "title", "url", "source", "published_at", "lang")},
    ),
    st.dictionaries(_PIECES, _VALUE, max_size=3),
    _VALUE,
)
_GOOD_RECORD = st.fixed_dictionaries({"text": _WORDS}, optional={"title": _PIECES, "published_at": _PIECES})
_JSONL = st.lists(
    st.one_of(
        _GOOD_RECORD.map(json.dumps),
        _GOOD_RECORD.map(json.dumps),
        _RECORD.map(json.dumps),
        _RECORD.map(lambda r: json.dumps(r, ensure_ascii=False)),
        _PIECES,
    ),
    min_size=1,
    max_size=4,
).map("\n".join)
_HTML = st.builds(
    "<html><head><meta charset='{}'><title>{}</title></head><body><article>{}<p>{}</p></article></body></html>".format,
    st.sampled_from(["utf-8", "latin-1", "shift_jis", "bogus", ""]),
    _PIECES,
    _TEXT.map("<p>{}</p>".format),
    _TEXT,
)
_ENCODING = st.sampled_from(["utf-8"] * 4 + ["utf-8-sig", "utf-16", "latin-1", "cp1252", "shift_jis"])


@st.composite
def _upload_file(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["a.txt", "b.md", "c.html", "d.htm", "e.jsonl", "F.TXT", "../g.md", "h\\i.jsonl"]))
    if draw(st.integers(0, 9)) == 0:
        return name, draw(st.binary(max_size=2000))
    kind = name.rsplit(".", 1)[-1].lower()
    if kind == "jsonl":
        text = draw(_JSONL)
    elif kind.startswith("htm"):
        text = draw(_HTML)
    else:
        text = draw(_HEADER) + draw(_TEXT)
    return name, text.encode(draw(_ENCODING), errors="replace")


_PARAGRAPHS = f"<p>{ARTICLE['text']} &#xD800; &#0;</p>" * 4  # enough text for the page to be an article
# Files that must be refused or stored, never break the server: a lone surrogate in each field of a
# JSONL article, a NUL, an HTML character reference to a surrogate.
UPLOAD_EXAMPLES = [
    [(f"{key}.jsonl", json.dumps({**ARTICLE, "id": None, key: f"{value} {LONE_SURROGATE}"}).encode())]
    for key, value in ARTICLE.items()
    if key != "id"
] + [
    [("nul.jsonl", json.dumps({**ARTICLE, "id": "fuzz-nul", "text": ARTICLE["text"] + "\x00"}).encode())],
    [("ref.html", f"<title>T &#xD800;</title><article>{_PARAGRAPHS}</article>".encode())],
]


def test_upload_survives_real_files(server: Server, schema: schemathesis.BaseSchema) -> None:
    operation = schema["/v1/articles/upload"]["POST"]
    exchanges = Exchanges(server, schema)

    @settings(SETTINGS, max_examples=MAX_EXAMPLES * 2)
    @given(files=st.lists(_upload_file(), min_size=1, max_size=2))
    def run(files: list[tuple[str, bytes]]) -> None:
        multipart = [("files", (name, data, "application/octet-stream")) for name, data in files]
        response = _unthrottled(
            requests.post, f"{server.base}/v1/articles/upload", files=multipart, headers=AUTH, timeout=120
        )
        case = operation.Case(media_type="multipart/form-data")  # for its checks, which read only the response
        request = f"files: {[(name, data[:300]) for name, data in files]}"
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH)
        except FailureGroup as group:
            titles = sorted({failure.title for failure in group.exceptions})
            names = ",".join(name for name, _ in files) if response.status_code >= 500 else "-"
            key = ("POST /v1/articles/upload", names, str(response.status_code), *titles)
            exchanges.findings.add(key, f"{group}\n{request}")
            return
        if response.status_code == 202:
            exchanges.jobs.append((f"/v1/jobs/{response.json()['id']}", ("POST /v1/articles/upload",), request))

    for files in UPLOAD_EXAMPLES:
        run = example(files=files)(run)
    run()
    exchanges.check_jobs()
    assert not exchanges.findings.items, exchanges.findings.report(server)


def test_write_routes_need_the_key(server: Server) -> None:
    for method, path, kwargs in WRITES:
        for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": API_KEY}):
            response = _unthrottled(
                httpx.request, method, f"{server.base}{path}", headers=headers, timeout=30, **kwargs
            )
            assert response.status_code == 401, (method, path, headers, response.status_code, response.text)
            assert response.headers["content-type"] == "application/json"
            assert response.headers["www-authenticate"] == "Bearer"
            assert "API key" in response.json()["detail"]


def test_reads_stay_open(server: Server) -> None:
    for path in ("/healthz", "/v1/models", "/v1/articles", f"/v1/jobs/{server.ingest_job}"):
        response = _unthrottled(httpx.get, f"{server.base}{path}", timeout=30)
        assert response.status_code == 200, (path, response.text)
    page = httpx.get(f"{server.base}/", timeout=30)  # the web page, not in the schema
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


# Hostile requests schemathesis does not make. Each write carries a body the route would accept, so a
# request that got through would show (a 2xx, an article stored, the victim article gone).
VICTIM = "hostile-victim"  # stored with the key first; every hostile DELETE aims at it
HUGE_BYTES = 20_000_000


def _article(name: str) -> dict[str, Any]:
    """ARTICLE made a story of its own (an article with the same text and title is stored as a duplicate
    of it, under the first one's id), with no id: the route's path gives it."""
    return {**ARTICLE, "id": None, "title": f"{ARTICLE['title']}: {name}", "text": f"{ARTICLE['text']} Case {name}."}


def _hostile_writes(base: str, tag: str, delete: str = VICTIM) -> list[httpx.Request]:
    """A valid request to each write route; what it would store is named after ``tag``."""
    upload = json.dumps({**_article(f"{tag}-upload"), "id": f"hostile-{tag}-upload"}).encode()
    questions = {"questions": [{"id": "q", "question": "Who?", "answer": "x"}]}
    return [
        httpx.Request("POST", f"{base}/v1/articles", json={**_article(tag), "id": f"hostile-{tag}"}),
        httpx.Request("POST", f"{base}/v1/articles/upload", files={"files": ("a.jsonl", upload, "text/plain")}),
        httpx.Request("PUT", f"{base}/v1/articles/hostile-{tag}-put", json=_article(f"{tag}-put")),
        httpx.Request("DELETE", f"{base}/v1/articles/{delete}"),
        httpx.Request("POST", f"{base}/v1/eval", json=questions),
    ]


def _stored_ids(tag: str) -> list[str]:
    return [f"hostile-{tag}", f"hostile-{tag}-upload", f"hostile-{tag}-put"]


@pytest.fixture
def victim(server: Server) -> Iterator[str]:
    """An article the hostile DELETEs aim at; the test then checks it is still there."""
    url = f"{server.base}/v1/articles/{VICTIM}"
    put = _unthrottled(httpx.put, url, json=_article(VICTIM), headers=AUTH, timeout=120)
    assert put.status_code == 200 and put.json()["duplicate_of"] is None, put.text
    yield VICTIM
    kept = _unthrottled(httpx.get, url, timeout=30)
    assert kept.status_code == 200, f"the victim was deleted: {kept.status_code} {kept.text}"


def _assert_nothing_stored(base: str, tag: str) -> None:
    for article_id in _stored_ids(tag):
        response = _unthrottled(httpx.get, f"{base}/v1/articles/{article_id}", timeout=30)
        assert response.status_code == 404, (article_id, response.status_code, response.text[:300])


def test_the_hostile_requests_are_valid_with_the_key(server: Server) -> None:
    """The control for the tests below: with the key (and no Origin) each request is accepted and stores
    what it says, so a refusal below is the refusal being tested, not a body the route would refuse anyway."""
    with httpx.Client(timeout=120) as client:
        for request in _hostile_writes(server.base, "control", delete="hostile-control-put"):
            request.headers.update(AUTH)
            response = _unthrottled(client.send, request)
            assert 200 <= response.status_code < 300, (request.method, request.url.path, response.text)
        stored = [
            _unthrottled(client.get, f"{server.base}/v1/articles/{i}").status_code for i in _stored_ids("control")
        ]
    assert stored == [200, 200, 404], "the POST and the upload stored, the PUT's article deleted again"


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    content: bytes
    seconds: float  # from the end of the request's head to the end of the response
    body_sent: int  # bytes of the request's body sent when the response had come


def _raw_exchange(base: str, head: list[str], body: Sequence[bytes] = (), timeout: float = 30) -> RawResponse:
    """Send a request line and headers exactly as given (no client tidies them), then ``body`` from a
    thread: the server may answer before it has read the body, and stop reading. A 429 is waited out
    (its Retry-After) and the request sent again: the rate limit is not tested here."""
    parts = urlsplit(base)
    for _ in range(RATE_LIMITED_TRIES):
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
            sock.sendall("\r\n".join([*head, "", ""]).encode("latin-1"))
            started = time.monotonic()
            sent = [0]
            sender = threading.Thread(target=_pump, args=(sock, body, sent), daemon=True)
            sender.start()
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    assert chunk, f"the server closed the connection without an answer: {data!r}"
                    data += chunk
                status_line, _, rest = data.partition(b"\r\n")
                header_block, _, content = rest.partition(b"\r\n\r\n")
                headers = {}
                for line in header_block.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                while len(content) < int(headers.get("content-length", "0")):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    content += chunk
                seconds = time.monotonic() - started
                sent_by_then = sent[0]
            finally:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the sender if it is blocked on a full buffer
        sender.join(timeout=10)
        status = int(status_line.split()[1])
        if status != 429:
            return RawResponse(status, headers, content, seconds, sent_by_then)
        time.sleep(int(headers["retry-after"]))
    raise AssertionError(f"still rate limited: {head[0]}")


def _pump(sock: socket.socket, body: Sequence[bytes], sent: list[int]) -> None:
    """Send ``body``, counting the bytes sent in ``sent[0]``, until the server closes the connection."""
    with contextlib.suppress(OSError):  # the server answered and closed: the rest is not read
        for piece in body:
            view = memoryview(piece)
            while view:
                n = sock.send(view)
                sent[0] += n
                view = view[n:]


def _head(request: httpx.Request, **extra: str) -> list[str]:
    """The request line and headers of ``request`` (its Host, Content-Type, Content-Length), plus ``extra``."""
    url = request.url
    lines = [f"{request.method} {url.raw_path.decode()} HTTP/1.1", f"Host: {url.netloc.decode()}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "host"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
    return [*lines, "Connection: close"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ",
        "Bearer",
        "Bearer \t ",
        "",
        "bearer",
        f"Basic {API_KEY}",
        f"Bearer {API_KEY[:-1]}",
        f"Bearer {API_KEY}x",
    ],
)
def test_an_empty_or_partial_token_is_refused(server: Server, victim: str, authorization: str) -> None:
    """Sent over a raw socket: HTTP clients refuse to send a header value with trailing whitespace."""
    for request in _hostile_writes(server.base, "token"):
        content = request.read()
        head = _head(request, Authorization=authorization)
        response = _raw_exchange(server.base, head, [content])
        assert response.status == 401, (request.method, request.url.path, repr(authorization), response)
        assert response.headers["www-authenticate"] == "Bearer"
    _assert_nothing_stored(server.base, "token")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_huge_body_without_the_key_is_refused_unread(server: Server, victim: str, framing: str) -> None:
    """20 MB of what is not JSON nor multipart (a 422 would mean it was parsed) to each write route: a
    declared length over CITEWIRE_MAX_REQUEST_BYTES gets 413 at once, a chunked body (no length to go
    by) 401 before the body is read. Either comes back while most of the body is still unsent."""
    piece = b"{" + b"x" * 65_535
    pieces = HUGE_BYTES // len(piece)
    for request in _hostile_writes(server.base, "huge"):
        request.read()
        head = [line for line in _head(request) if not line.lower().startswith("content-length")]
        if framing == "content-length":
            head.insert(-1, f"Content-Length: {pieces * len(piece)}")
            body: Sequence[bytes] = (piece,) * pieces  # one 64 KB piece, sent over and over
            expected = 413
        else:
            head.insert(-1, "Transfer-Encoding: chunked")
            body = (b"%x\r\n%s\r\n" % (len(piece), piece),) * pieces + (b"0\r\n\r\n",)
            expected = 401
        response = _raw_exchange(server.base, head, body)
        what = (request.method, request.url.path, framing)
        assert response.status == expected, (*what, response.status, response.content[:300])
        assert response.seconds < 5, (*what, f"{response.seconds:.1f} s for a refusal")
        assert response.body_sent < HUGE_BYTES // 2, (*what, f"{response.body_sent} bytes sent before the answer")
    _assert_nothing_stored(server.base, "huge")


def test_a_foreign_origin_may_not_write_even_with_the_key(server: Server, victim: str) -> None:
    """What a browser adds to a page's request: an Origin other than the server's own (another site, an
    opaque origin, another port of the same host, another name of it), or a Sec-Fetch-Site saying so."""
    port = urlsplit(server.base).port
    foreign = [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": f"http://127.0.0.1:{free_port()}"},
        {"Origin": f"http://localhost:{port}"},
        {"Origin": f"https://127.0.0.1:{port}"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ]
    with httpx.Client(timeout=120) as client:
        for headers in foreign:
            for request in _hostile_writes(server.base, "origin"):
                request.headers.update({**AUTH, **headers})
                response = _unthrottled(client.send, request)
                assert response.status_code == 403, (request.method, request.url.path, headers, response.text)
                assert response.headers["content-type"] == "application/json"
        _assert_nothing_stored(server.base, "origin")
        # The control: the server's own origin, through its address, may write with the key.
        own = {**AUTH, "Origin": server.base, "Sec-Fetch-Site": "same-origin"}
        url = f"{server.base}/v1/articles/hostile-own"
        added = _unthrottled(client.put, url, json=_article("own"), headers=own)
        assert added.status_code == 200 and added.json()["outcome"] in ("created", "replaced"), added.text
        assert _unthrottled(client.delete, url, headers=own).status_code == 200


def test_a_rebound_host_name_may_not_write_even_with_the_key(server: Server, victim: str) -> None:
    """DNS rebinding: a page at http://rebound.example:<port> whose name now resolves to this server
    writes to it "same-origin" (Origin matches Host). Only names in CITEWIRE_ALLOWED_HOSTS may."""
    port = urlsplit(server.base).port
    with httpx.Client(timeout=120) as client:
        for name in ("rebound.example", "127.0.0.1.nip.io", "localhost.evil.example"):
            rebound = {**AUTH, "Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}
            for request in _hostile_writes(server.base, "rebound"):
                request.headers.update(rebound)
                response = _unthrottled(client.send, request)
                assert response.status_code == 403, (request.method, request.url.path, name, response.text)
                assert "host name" in response.json()["detail"], response.text
        _assert_nothing_stored(server.base, "rebound")
        # The control: a name the server is known by (the default CITEWIRE_ALLOWED_HOSTS) may.
        known = {**AUTH, "Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
        url = f"{server.base}/v1/articles/hostile-known"
        added = _unthrottled(client.put, url, json=_article("known"), headers=known)
        assert added.status_code == 200 and added.json()["outcome"] in ("created", "replaced"), added.text
        assert _unthrottled(client.delete, url, headers=known).status_code == 200


def test_no_tracebacks_in_the_server_log(server: Server) -> None:
    """Also catches what a status code cannot show, e.g. an exception in the middle of a stream."""
    log = (server.data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log, _log_tail(server, 200)
    assert httpx.get(f"{server.base}/healthz", timeout=30).status_code == 200


def test_after_all_of_it_the_seed_questions_still_answer(server: Server) -> None:
    """The fuzzed store, restarted with the default model: the seed ingests again (it was deleted, or is
    unchanged) and its questions are answered with citations that check out. They are asked within the
    seed (an ``article_ids`` filter; one question: tests/e2e/test_seed_http.py asks them all): the fuzzing
    stored keyword-stuffed articles ("memo memo The memo
    ...") whose chunks BM25 ranks beside the seed's and crowd a 4-passage context; what is checked here
    is that nothing of the seed was lost or broken."""
    server.stop()
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    ingest = subprocess.run(
        citewire("ingest", str(seeds), "--data-dir", str(server.data_dir), "--quiet"), capture_output=True, text=True
    )
    assert ingest.returncode == 0, ingest.stderr
    assert re.search(r"\b1 (created|unchanged)\b", ingest.stdout), ingest.stdout
    base = f"http://127.0.0.1:{free_port()}"
    args = citewire("serve", "--data-dir", str(server.data_dir), "--port", base.rsplit(":", 1)[1])
    with running(args, f"{base}/healthz", server.data_dir / "server-after.log"):
        for question, expected in ANSWERABLE[:1]:
            payload = {"question": question, "filters": {"article_ids": [server.article_id]}}
            response = httpx.post(f"{base}/v1/query", json=payload, timeout=300)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["abstained"] is False, body
            assert re.search(expected, body["answer"], re.IGNORECASE), body["answer"]
            assert_citations_check_out(base, body)


_Response = TypeVar("_Response", httpx.Response, requests.Response)
_Args = ParamSpec("_Args")


def _unthrottled(send: Callable[_Args, _Response], *args: _Args.args, **kwargs: _Args.kwargs) -> _Response:
    """``send(...)``, and again after each 429 once its Retry-After has passed (the rate limit is not tested here)."""
    for _ in range(RATE_LIMITED_TRIES - 1):
        response = send(*args, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers["retry-after"]))
    return send(*args, **kwargs)


def _pinned_path_parameters(server: Server, path: str) -> dict[str, str]:
    if "{article_id}" in path:
        return {"article_id": server.article_id}
    if path == "/v1/jobs/{job_id}":
        return {"job_id": server.ingest_job}
    if path == "/v1/eval/{job_id}":
        return {"job_id": server.eval_job}
    return {}


def _with_lone_surrogates(body: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """``body`` once for each string in it, that string followed by a lone surrogate; with where it is."""
    if isinstance(body, str):
        yield where or "body", f"{body} {LONE_SURROGATE}"
    elif isinstance(body, dict):
        for key, value in body.items():
            for inner, poisoned in _with_lone_surrogates(value, f"{where}.{key}"):
                yield inner, {**body, key: poisoned}
    elif isinstance(body, list):
        for i, value in enumerate(body):
            for inner, poisoned in _with_lone_surrogates(value, f"{where}[{i}]"):
                yield inner, [*body[:i], poisoned, *body[i + 1 :]]


def _stream_problem(raw: dict[str, Any], path: str, response: schemathesis.Response) -> str | None:
    """What is wrong with an SSE answer: Citewire's own (tokens, then final) or OpenAI's chunks."""
    if path not in STREAMING:
        return f"an event stream from a route that never streams (status {response.status_code})"
    if response.status_code != 200:
        return f"status {response.status_code} for an event stream"
    if response.stream_cut_short:
        return "the stream did not end within the request timeout"
    content = response.content
    components = raw.get("components", {})
    if path == "/v1/chat/completions":
        data = [event["data"] for event in sse_events(content) if "data" in event]
        if not data or data[-1] != "[DONE]":
            return f"the stream does not end with [DONE]: {content[-500:]!r}"
        chunks = [json.loads(d) for d in data[:-1]]
        if not chunks or any(c.get("object") != "chat.completion.chunk" for c in chunks):
            return f"not chat.completion.chunk objects: {content[:500]!r}"
        ref, final = "#/components/schemas/ChatResponse", chunks[-1].get("citewire")
    else:
        events = sse_events(content)
        kinds = [event.get("event") for event in events]
        if not kinds or kinds[-1] != "final" or set(kinds[:-1]) - {"token"}:
            return f"expected token events, then one final event; got {kinds[-5:]}: {content[-500:]!r}"
        if not all(isinstance(json.loads(event["data"]).get("text"), str) for event in events[:-1]):
            return f"a token event without text: {content[:500]!r}"
        ref = raw["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        final = json.loads(events[-1]["data"])
    validator = jsonschema_rs.validator_for({"$ref": ref, "components": components})
    errors = [str(error) for error in validator.iter_errors(final)]
    return f"the final answer does not match {ref}: {errors[:3]}" if errors else None


def _log_tail(server: Server, lines: int = 60) -> str:
    """The end of the server log without its access lines (the reports above name the requests)."""
    log = (server.data_dir / "server.log").read_text(encoding="utf-8", errors="replace").splitlines()
    kept = [line for line in log if not ACCESS_LINE.match(line)][-lines:]
    return "--- server.log, last {} lines other than access lines ---\n{}".format(len(kept), "\n".join(kept))
