"""The page's "Check a claim" mode in a real headless Chromium against a real ``citewire serve``.

Two claims about the seed article, one it states and one it says otherwise about, checked with the default model
(the tiny one cannot tell support from contradiction): each claim shows its label and scores, its supporting and
contradicting sentences side by side, every quote exactly the article's text[start:end], and a sentence opens its
passage highlighted, as a citation does. The mode is reached by mouse and by keyboard (the tabs follow ARIA's
pattern). A screenshot is kept in tests/artifacts/web-check.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e import test_web_ui
from tests.e2e.servers import seeded_server
from tests.e2e.test_web_ui import ANSWER_TIMEOUT_MS, ARTIFACTS

pytestmark = pytest.mark.slow
browser = test_web_ui.browser  # Debian's Chromium, launched as test_web_ui does

SUPPORTED = "The Chinese Embassy accused the U.S. of distorting facts."
CONTRADICTED = "The White House does not take these cyber threats seriously."  # it "takes ... very seriously"
LABELS = {"supported": "Supported", "contradicted": "Contradicted", "unmentioned": "Not mentioned"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with seeded_server(tmp_path_factory.mktemp("web-check-data")) as base:
        yield base


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1300})  # both claims in the screenshot
    yield context.new_page()
    context.close()


def _shown_spans(column: Locator) -> list[dict[str, Any]]:
    links = column.locator("a.span-link")
    return [
        {
            "article_id": links.nth(i).get_attribute("data-article-id"),
            "start": int(links.nth(i).get_attribute("data-start") or "-1"),
            "end": int(links.nth(i).get_attribute("data-end") or "-1"),
            "quote": links.nth(i).locator(".quote").text_content(),
        }
        for i in range(links.count())
    ]


def test_check_a_claim_shows_both_sides_with_exact_quotes(server: str, page: Page) -> None:
    page.goto(server)
    ask_tab = page.get_by_role("tab", name="Ask a question")
    check_tab = page.get_by_role("tab", name="Check a claim")
    expect(ask_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#check-panel")).to_be_hidden()

    # By keyboard: the arrows move between the tabs, and the panels follow.
    ask_tab.focus()
    page.keyboard.press("ArrowRight")
    expect(check_tab).to_be_focused()
    expect(check_tab).to_have_attribute("aria-selected", "true")
    expect(page.locator("#check-panel")).to_be_visible()
    expect(page.locator("#ask-panel")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(ask_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_label("Your question")).to_be_visible()

    # By mouse: the tab selects its mode and puts the cursor in its text box.
    check_tab.click()
    claim_box = page.get_by_label("Text to check")
    expect(claim_box).to_be_focused()
    claim_box.fill(f"{SUPPORTED} {CONTRADICTED}")
    with page.expect_response(lambda r: r.url.endswith("/v1/check") and r.request.method == "POST") as checked:
        claim_box.press("Enter")
    results = page.locator("#check-results")
    expect(results).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#check-send")).to_be_enabled()
    assert checked.value.request.post_data_json == {"text": f"{SUPPORTED} {CONTRADICTED}"}
    assert checked.value.status == 200
    body = checked.value.json()
    assert [c["label"] for c in body["claims"]] == ["supported", "contradicted"], body

    article_texts: dict[str, str] = {}
    claims = results.locator("li.claim")
    expect(claims).to_have_count(2)
    for i, claim in enumerate(body["claims"]):
        shown = claims.nth(i)
        expect(shown).to_have_attribute("data-label", claim["label"])
        expect(shown.locator(".label")).to_have_text(LABELS[claim["label"]])
        expect(shown.locator(".claim-text")).to_have_text(claim["text"])
        expect(shown.locator(".score")).to_have_text(
            f"support {claim['support']:.2f} · contradiction {claim['contradiction']:.2f}"
        )
        supporting, contradicting = shown.locator(".column.supporting"), shown.locator(".column.contradicting")
        left, right = supporting.bounding_box(), contradicting.bounding_box()
        assert left and right and left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2
        for column, spans in ((supporting, claim["supporting"]), (contradicting, claim["contradicting"])):
            shown_spans = _shown_spans(column)
            expected = [{k: s[k] for k in ("article_id", "start", "end", "quote")} for s in spans]
            assert shown_spans == expected
            for span in shown_spans:
                article_id = str(span["article_id"])
                if article_id not in article_texts:
                    article = httpx.get(f"{server}/v1/articles/{article_id}", timeout=30).json()
                    article_texts[article_id] = article["text"]
                assert span["quote"] == article_texts[article_id][span["start"] : span["end"]]
    expect(page.locator("#check-status")).to_contain_text("1 supported · 1 contradicted · 0 not mentioned")
    assert claims.nth(0).locator(".supporting a.span-link").count() >= 1
    assert claims.nth(1).locator(".contradicting a.span-link").count() >= 1

    # A contradicting sentence opens its passage with exactly that span highlighted.
    against = body["claims"][1]["contradicting"][0]
    claims.nth(1).locator(".contradicting a.span-link").first.click()
    panel = page.locator("#passage")
    expect(panel).to_be_visible()
    expect(panel.locator("#passage-title")).to_have_text(against["title"])
    expect(panel.locator("#passage-meta")).to_contain_text("Contradicts the claim")
    expect(panel.locator("mark")).to_have_text(against["quote"])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "web-check.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
