"""The web page at / in a real headless Chromium (Debian's, driven by Playwright) against a real server.

``citewire serve`` runs over the ingested seed article with the default LLM; the test types a question,
watches the answer stream in and get replaced by the checked answer, clicks a citation and finds the
quoted span highlighted in the passage panel. A screenshot is kept in tests/artifacts/web-ui.png."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.conftest import REPO_ROOT
from tests.e2e.servers import seeded_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused by the closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
QUESTION = "Which newspaper reviewed the White House memo?"
SEED_TITLE = "Chinese giant Alibaba accused by Washington"
ANSWER_TIMEOUT_MS = 300_000

# Records every change of the newest answer's state and text length, so the test can tell that tokens
# were on screen before the final answer replaced them (however fast the stream is).
WATCH_ANSWERS = """
window.__answerLog = [];
new MutationObserver(() => {
  const answers = document.querySelectorAll("li.message.assistant");
  const last = answers[answers.length - 1];
  if (!last) return;
  const entry = { state: last.dataset.state || "", length: last.querySelector(".body").textContent.length };
  const prev = window.__answerLog[window.__answerLog.length - 1];
  if (!prev || prev.state !== entry.state || prev.length !== entry.length) window.__answerLog.push(entry);
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("web-ui-data")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make install` installs Debian's chromium"
    with sync_playwright() as pw:
        browser = _launch(pw)
        yield browser
        browser.close()


def _launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(WATCH_ANSWERS)
    yield page
    context.close()


def final_event(stream_text: str) -> dict[str, Any]:
    """The data of the one 'final' event in a text/event-stream body."""
    finals = [
        json.loads(block.split("\ndata: ", 1)[1])
        for block in stream_text.replace("\r\n", "\n").split("\n\n")
        if block.startswith("event: final\n")
    ]
    assert len(finals) == 1, stream_text[-2000:]
    return dict(finals[0])


def test_ask_watch_the_stream_and_open_a_citation(server: str, page: Page) -> None:
    page.goto(server)
    expect(page).to_have_title("Citewire")

    # The sidebar lists the seed article with its metadata.
    article = page.locator("#article-list li").filter(has_text=SEED_TITLE)
    expect(article).to_have_count(1)
    expect(article.locator(".meta")).to_contain_text("BB.LV")
    expect(article.locator(".meta")).to_contain_text("chunks")

    # Ask; Enter sends. Send stays disabled while the answer streams.
    page.get_by_label("Your question").fill(QUESTION)
    with page.expect_response(lambda r: r.url.endswith("/v1/chat") and r.request.method == "POST") as chat:
        page.get_by_label("Your question").press("Enter")
    expect(page.locator("#send")).to_be_disabled()
    request_body = json.loads(chat.value.request.post_data or "{}")
    assert request_body == {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    assert chat.value.status == 200
    assert chat.value.headers["content-type"].startswith("text/event-stream")

    answer = page.locator("li.message.assistant").last
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#send")).to_be_enabled()
    final = final_event(chat.value.text())

    # Streamed tokens were on screen, growing, before the final answer replaced them.
    log: list[dict[str, Any]] = page.evaluate("window.__answerLog")
    states = [entry["state"] for entry in log]
    assert "streaming" in states and "done" in states, log
    streaming = [entry["length"] for entry in log[: states.index("done")] if entry["state"] == "streaming"]
    assert len(streaming) >= 2 and streaming[0] > 0 and streaming[-1] > streaming[0], log

    # The final, checked answer is what the page shows, [n] markers as links to their citations.
    assert final["abstained"] is False, final
    assert "Financial Times" in final["answer"]
    text = answer.locator(".answer-text")
    expect(text).to_have_text(final["answer"])
    links = text.locator("a.cite")
    assert links.count() == len(re.findall(r"\[\d+\]", final["answer"])) >= 1
    expect(answer.locator(".sources li")).to_have_count(len(final["citations"]))

    # Clicking the first citation opens its passage with the quote highlighted.
    first = links.first
    n = int(first.get_attribute("data-n") or "0")
    citation = next(c for c in final["citations"] if c["n"] == n)
    first.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    expect(panel.locator("#passage-title")).to_have_text(citation["title"])
    mark = panel.locator("mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(citation["quote"])
    assert mark.text_content() == citation["quote"]
    assert citation["quote"] in (panel.locator(".context").text_content() or "")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-ui.png"), full_page=True)
