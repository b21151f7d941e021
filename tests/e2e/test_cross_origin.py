"""Writes from other web origins, in a real headless Chromium (Debian's, driven by Playwright, as in
test_web_ui) against a real ``citewire serve`` (tiny model, seeded, its generated API key).

An attacker's page is served by a plain HTTP server on another port of the same host
(http://127.0.0.1:<other port>: same-site, another origin) and under another name
(http://localhost:<other port>: cross-site). The victim only opens it; its script then tries to write
to Citewire every way a page can: forms (multipart with a file, text/plain dressed up as JSON,
urlencoded), ``fetch`` in no-cors mode (no preflight: the browser drops the key the page tries to
add), ``navigator.sendBeacon``, and ``fetch`` with the real key (as if it had leaked to the page), which
needs a CORS preflight the server must not grant. Nothing may be stored or deleted; what reached the
server (its access log) got 403, the preflights no 2xx, nothing a 5xx.

The controls: Citewire's own page (its origin) can write with the key from a script, and not without
it; and a DNS-rebound name (a Chromium that resolves rebound.example to 127.0.0.1) cannot, though to
the browser the write is same-origin. Screenshots of the attacker's page are kept in tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Request

from tests.e2e import test_web_ui
from tests.e2e.servers import seeded_server, write_headers
from tests.e2e.test_web_ui import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

browser = test_web_ui.browser  # test_web_ui's fixture: Debian's Chromium, launched as there

ENV = {"CITEWIRE_LLM_MODEL": "tiny"}
# uvicorn's access lines: INFO:     127.0.0.1:53106 - "POST /v1/articles HTTP/1.1" 403 Forbidden
ACCESS_LINE = re.compile(r'^INFO: +\S+ - "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})\b')
WRITES = ("POST", "PUT", "DELETE", "PATCH")
# The requests of the attack that need no preflight, so reach the server: (method, path) -> how many.
SIMPLE_WRITES = {("POST", "/v1/articles/upload"): 2, ("POST", "/v1/articles"): 3, ("POST", "/v1/eval"): 1}
PREFLIGHTED = 3  # the fetches with the key: PUT, DELETE, POST with a JSON content type

# The attacker's page. Its script tries every write, records what it could see of each in a table
# (and window.__attack), then sets window.__done.
ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A page that is not Citewire</title>
<style>body { font: 14px sans-serif; margin: 2em; } td, th { border: 1px solid #999; padding: 4px 8px; }
iframe { width: 300px; height: 60px; }</style></head>
<body>
<h1>A page that is not Citewire</h1>
<p>Served from <b id="origin"></b>, writing to <b id="target"></b>.</p>
<table><thead><tr><th>attempt</th><th>what this page saw</th></tr></thead><tbody id="results"></tbody></table>
<script type="application/json" id="config">__CONFIG__</script>
<script>
const cfg = JSON.parse(document.getElementById("config").textContent);
const target = cfg.target;
document.getElementById("origin").textContent = location.origin;
document.getElementById("target").textContent = target;
window.__attack = {};

function note(name, outcome) {
  window.__attack[name] = outcome;
  const row = document.createElement("tr");
  row.innerHTML = "<td></td><td></td>";
  row.cells[0].textContent = name;
  row.cells[1].textContent = outcome;
  document.getElementById("results").append(row);
}

function planted(id) {
  return { id: id, title: "Planted " + id, source: "attacker.example",
           text: "An article planted by " + location.origin + " as " + id + ". It says what the attacker wants. "
                 + "It is long enough to be stored as an article if anything let it through." };
}

// A form submitted into a frame of its own, as a page does it: no script can read the answer.
function submitForm(name, path, enctype, fill) {
  return new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.name = "sink-" + name;
    document.body.append(frame);
    const form = document.createElement("form");
    form.method = "POST";
    form.action = target + path;
    form.enctype = enctype;
    form.target = frame.name;
    fill(form);
    document.body.append(form);
    const timer = setTimeout(() => resolve(note(name, "no answer loaded within 10 s")), 10000);
    frame.addEventListener("load", () => {
      clearTimeout(timer);
      resolve(note(name, "submitted; an answer loaded into the frame (unreadable to this page)"));
    }, { once: true });
    form.submit();
  });
}

function field(form, name, value) {
  const input = document.createElement("input");
  input.name = name;
  input.value = value;
  form.append(input);
}

async function tryFetch(name, path, init) {
  try {
    const response = await fetch(target + path, init);
    note(name, "resolved: type " + response.type + ", status " + response.status);
  } catch (error) {
    note(name, "rejected: " + error.name + ": " + error.message);
  }
}

async function attack() {
  const tag = cfg.tag;
  // (a) A multipart form with a file in it (set through a DataTransfer, as a drop would).
  await submitForm("form multipart upload", "/v1/articles/upload", "multipart/form-data", (form) => {
    const input = document.createElement("input");
    input.type = "file";
    input.name = "files";
    const files = new DataTransfer();
    const line = JSON.stringify(planted("csrf-form-upload-" + tag));
    files.items.add(new File([line], "planted.jsonl", { type: "application/octet-stream" }));
    input.files = files.files;
    form.append(input);
  });
  // (b) text/plain sends name=value as it is: a name that opens a JSON object, a value that closes it.
  await submitForm("form text/plain JSON", "/v1/articles", "text/plain", (form) => {
    const json = JSON.stringify({ ...planted("csrf-form-plain-" + tag), pad: "" });
    field(form, json.slice(0, -2), "\\"}");
  });
  await submitForm("form urlencoded", "/v1/eval", "application/x-www-form-urlencoded", (form) => {
    field(form, "questions", JSON.stringify([{ id: "q", question: "Who?", answer: "x" }]));
  });
  // (c) fetch in no-cors mode: no preflight, an opaque answer; the browser drops Content-Type: application/json.
  await tryFetch("fetch no-cors JSON", "/v1/articles", {
    method: "POST", mode: "no-cors", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(planted("csrf-nocors-" + tag)),
  });
  // ... and the key the page tries to add: not a header no-cors may send, so it is dropped.
  const upload = new FormData();
  upload.append("files", new Blob([JSON.stringify(planted("csrf-nocors-upload-" + tag))]), "planted.jsonl");
  await tryFetch("fetch no-cors upload with the key", "/v1/articles/upload", {
    method: "POST", mode: "no-cors", headers: { Authorization: "Bearer " + cfg.key }, body: upload,
  });
  const beacon = new Blob([JSON.stringify(planted("csrf-beacon-" + tag))], { type: "text/plain" });
  note("sendBeacon", "queued: " + navigator.sendBeacon(target + "/v1/articles", beacon));
  // (d), (e) With the key: a CORS request whose preflight the server must not grant.
  const withKey = { Authorization: "Bearer " + cfg.key, "Content-Type": "application/json" };
  await tryFetch("fetch PUT with the key", "/v1/articles/csrf-put-" + tag, {
    method: "PUT", headers: withKey, body: JSON.stringify({ ...planted("csrf-put-" + tag), id: null }),
  });
  await tryFetch("fetch DELETE of the seed with the key", "/v1/articles/" + cfg.seed, {
    method: "DELETE", headers: { Authorization: "Bearer " + cfg.key },
  });
  await tryFetch("fetch POST JSON with the key", "/v1/articles", {
    method: "POST", headers: withKey, body: JSON.stringify(planted("csrf-cors-" + tag)),
  });
}

attack().finally(() => { window.__done = true; });
</script>
</body></html>
"""


def planted_ids(tag: str) -> list[str]:
    """The ids the attack page tries to store (each one's text is its own: no duplicate of another)."""
    return [f"csrf-{kind}-{tag}" for kind in ("form-upload", "form-plain", "nocors", "nocors-upload", "beacon")] + [
        f"csrf-put-{tag}",
        f"csrf-cors-{tag}",
    ]


@dataclass
class Citewire:
    base: str
    data_dir: Path
    headers: dict[str, str]  # the Authorization header writes need
    seed_id: str

    @property
    def key(self) -> str:
        return self.headers["Authorization"].removeprefix("Bearer ")

    def log_offset(self) -> int:
        return (self.data_dir / "server.log").stat().st_size

    def access_since(self, offset: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of each request the server answered after ``offset`` in its log."""
        with (self.data_dir / "server.log").open("rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", errors="replace").splitlines()
        found = (ACCESS_LINE.match(line) for line in lines)
        return [(m["method"], m["path"], int(m["status"])) for m in found if m]

    def articles(self) -> list[str]:
        listed = httpx.get(f"{self.base}/v1/articles", params={"limit": 1000}, timeout=30).json()
        return sorted(a["id"] for a in listed["articles"])


@pytest.fixture(scope="module")
def citewire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Citewire]:
    data_dir = tmp_path_factory.mktemp("cross-origin-data")
    with seeded_server(data_dir, ENV) as base:
        listed = httpx.get(f"{base}/v1/articles", timeout=30).json()
        yield Citewire(base, data_dir, write_headers(data_dir), listed["articles"][0]["id"])


class AttackerSite:
    """A plain web server on a port of its own, serving one page at /attack.html."""

    def __init__(self) -> None:
        self.page = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path.split("?", 1)[0] == "/attack.html"
                body = site.page if found else b"not here"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8" if found else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def attacker() -> Iterator[AttackerSite]:
    site = AttackerSite()
    yield site
    site.close()


@pytest.mark.parametrize(
    ("host", "fetch_site"),
    [pytest.param("127.0.0.1", "same-site", id="other-port"), pytest.param("localhost", "cross-site", id="other-site")],
)
def test_a_page_of_another_origin_cannot_write(
    citewire: Citewire, attacker: AttackerSite, browser: Browser, host: str, fetch_site: str
) -> None:
    tag = re.sub(r"\W", "", host)
    config = {"target": citewire.base, "key": citewire.key, "seed": citewire.seed_id, "tag": tag}
    attacker.page = ATTACK_PAGE.replace("__CONFIG__", json.dumps(config).replace("</", "<\\/")).encode()
    page_origin = f"http://{host}:{attacker.port}"
    before = citewire.articles()
    assert citewire.seed_id in before
    offset = citewire.log_offset()

    context = browser.new_context(viewport={"width": 1000, "height": 900})
    sent: list[Request] = []
    failed: list[Request] = []
    context.on("request", lambda r: sent.append(r) if r.url.startswith(citewire.base) else None)
    context.on("requestfailed", lambda r: failed.append(r) if r.url.startswith(citewire.base) else None)
    try:
        page = context.new_page()
        page.goto(f"{page_origin}/attack.html")
        page.wait_for_function("window.__done === true", timeout=30_000)
        attempts: dict[str, str] = page.evaluate("window.__attack")
        reached = _wait_for_writes(citewire, offset, sum(SIMPLE_WRITES.values()))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"cross-origin-{fetch_site}.png"), full_page=True)
        # The headers of the writes that went out without a preflight (all but the one with the key), read
        # now that they are over: those sent on the wire for the forms; for the no-cors fetches and the
        # beacon (their JSON answers withheld from the page, Playwright reports them aborted) only those the
        # page asked for.
        posts = [
            (r.resource_type, urlsplit(r.url).path, r.all_headers())
            for r in sent
            if r.method == "POST" and f"csrf-cors-{tag}" not in (r.post_data or "")
        ]
    finally:
        context.close()

    # What the page could see: the forms went, no-cors answers are opaque, each fetch with the key failed.
    assert len(attempts) == 9, attempts
    for name, outcome in attempts.items():
        if name.startswith("form"):
            assert outcome.startswith("submitted"), (name, outcome)
        elif "no-cors" in name:
            assert outcome == "resolved: type opaque, status 0", (name, outcome)
        elif name == "sendBeacon":
            assert outcome == "queued: true", (name, outcome)
        else:
            assert outcome.startswith("rejected: TypeError"), (name, outcome)

    # What reached the server: each simple write, refused for its origin (403: the key is not even
    # looked at); the preflights, not granted; no PUT or DELETE at all; nothing a 5xx.
    assert all(status < 500 for _, _, status in reached), reached
    writes = [(method, path, status) for method, path, status in reached if method in WRITES]
    assert Counter((method, path) for method, path, _ in writes) == SIMPLE_WRITES, writes
    assert all(status == 403 for _, _, status in writes), writes
    preflights = [status for method, _, status in reached if method == "OPTIONS"]
    assert len(preflights) == PREFLIGHTED and not any(200 <= s < 300 for s in preflights), reached

    # The browser said where the writes came from (the 403s show the server heard it for the others too),
    # and sent none with the key: the no-cors fetch went without the Authorization the page gave it.
    assert len(posts) == sum(SIMPLE_WRITES.values()), [(r.method, r.url) for r in sent]
    for kind, path, headers in posts:
        assert "authorization" not in headers, (kind, path, headers)
        if kind == "document":
            assert headers.get("origin") == page_origin, (path, headers)
            assert headers.get("sec-fetch-site") == fetch_site, (path, headers)
    assert {urlsplit(r.url).path for r in failed} >= {
        f"/v1/articles/csrf-put-{tag}",
        f"/v1/articles/{citewire.seed_id}",
    }

    # Nothing stored, nothing deleted: the same articles as before, the seed among them.
    assert citewire.articles() == before
    for article_id in planted_ids(tag):
        assert httpx.get(f"{citewire.base}/v1/articles/{article_id}", timeout=30).status_code == 404, article_id
    assert httpx.get(f"{citewire.base}/v1/articles/{citewire.seed_id}", timeout=30).status_code == 200


# Run in Citewire's own page: a write with and without the key, then a delete, each answer's status.
OWN_PAGE_WRITES = """
async ([key, id, article]) => {
  const url = "/v1/articles/" + id;
  const json = { "Content-Type": "application/json" };
  const body = JSON.stringify(article);
  const without = await fetch(url, { method: "PUT", headers: json, body });
  const put = await fetch(url, { method: "PUT", headers: { ...json, Authorization: "Bearer " + key }, body });
  const stored = await (await fetch(url)).json();
  const del = await fetch(url, { method: "DELETE", headers: { Authorization: "Bearer " + key } });
  return { without: without.status, put: put.status, outcome: (await put.json()).outcome, stored: stored.id,
           deleted: del.status };
}
"""


def test_citewire_own_page_can_write_with_the_key(citewire: Citewire, browser: Browser) -> None:
    """The control: the origin check lets the server's own origin through (the key is then what counts)."""
    article = {"title": "Written by the page", "text": "An article the page itself stored, then removed again."}
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(citewire.base)
        assert page.title() == "Citewire"
        offset = citewire.log_offset()
        result = page.evaluate(OWN_PAGE_WRITES, [citewire.key, "own-origin-write", article])
    finally:
        context.close()
    assert result == {"without": 401, "put": 200, "outcome": "created", "stored": "own-origin-write", "deleted": 200}
    writes = [(m, p, s) for m, p, s in citewire.access_since(offset) if m in WRITES]
    assert [s for _, _, s in writes] == [401, 200, 200], writes
    assert httpx.get(f"{citewire.base}/v1/articles/own-origin-write", timeout=30).status_code == 404


# A script's write with the key, from Citewire's page as the browser reached it by a rebound name.
REBOUND_WRITES = """
async ([key, article]) => {
  const put = await fetch("/v1/articles/rebound-write", {
    method: "PUT", headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
    body: JSON.stringify(article) });
  return { status: put.status, detail: (await put.json()).detail };
}
"""


def test_a_dns_rebound_name_cannot_write(citewire: Citewire, browser: Browser) -> None:
    """A Chromium that resolves rebound.example to 127.0.0.1, as after DNS rebinding: Citewire's own page,
    loaded through that name, is same-origin with the writes it makes, and they are refused all the same."""
    port = urlsplit(citewire.base).port
    rebound = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP rebound.example 127.0.0.1"],
        headless=True,
    )
    try:
        page = rebound.new_page()
        page.goto(f"http://rebound.example:{port}/")
        assert page.title() == "Citewire"  # reads stay open, whatever the name
        offset = citewire.log_offset()
        article = {"title": "Rebound", "text": "An article written through a rebound host name, which must fail."}
        result = page.evaluate(REBOUND_WRITES, [citewire.key, article])
    finally:
        rebound.close()
    assert result["status"] == 403, result
    assert "host name" in result["detail"], result
    writes = [(m, p, s) for m, p, s in citewire.access_since(offset) if m in WRITES]
    assert writes == [("PUT", "/v1/articles/rebound-write", 403)], writes
    assert httpx.get(f"{citewire.base}/v1/articles/rebound-write", timeout=30).status_code == 404


def _wait_for_writes(citewire: Citewire, offset: int, expected: int, wait_s: float = 10) -> list[tuple[str, str, int]]:
    """The access lines since ``offset`` once ``expected`` writes are among them (a beacon may still be on
    its way when the page is done), or after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        reached = citewire.access_since(offset)
        if sum(1 for method, _, _ in reached if method in WRITES) >= expected or time.monotonic() > deadline:
            time.sleep(0.5)  # one more look: nothing else is on its way
            return citewire.access_since(offset)
        time.sleep(0.2)
