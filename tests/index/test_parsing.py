"""Tests for index.parsing: header metadata, body extraction and boilerplate removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.language import detect_language
from index.loaders import article_from_text
from index.parsing import ParsedText, date_from_url, parse_date, parse_scraped_text, strip_boilerplate_tail

RUSSIAN_LEAD = "Компания из КНР отрицает все обвинения."
LAST_SENTENCE_END = "Chinese Huawei has already been blacklisted in the U.S., and similar risks remain for TikTok."

LONG_PROSE = (
    "The ministry published its quarterly review on Monday, and officials said the numbers were better than "
    "the forecasts made in the spring by most independent economists."
)


def _raw_body_paragraphs(raw: str) -> list[str]:
    """The seed's body paragraphs read straight from the file: after the date line, before the boilerplate."""
    lines = [line.strip() for line in raw.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Publiation data")) + 1
    end = lines.index("ALSO IN CATEGORY")
    return [line for line in lines[start:end] if line]


@pytest.fixture
def seed_raw(seed_path: Path) -> str:
    return seed_path.read_text(encoding="utf-8")


@pytest.fixture
def seed_parsed(seed_raw: str) -> ParsedText:
    return parse_scraped_text(seed_raw)


# -- the seed article ----------------------------------------------------------------------------


def test_seed_metadata(seed_parsed: ParsedText) -> None:
    assert seed_parsed.title == "Chinese giant Alibaba accused by Washington"
    assert seed_parsed.section == "Business"
    assert seed_parsed.source == "BB.LV"
    assert seed_parsed.published_at == "2025-11-18T09:21:00"


def test_seed_language_is_english(seed_raw: str) -> None:
    assert article_from_text(seed_raw).lang == "en"


def test_seed_body_boundaries(seed_parsed: ParsedText) -> None:
    body = seed_parsed.body
    assert body.startswith(RUSSIAN_LEAD)
    assert body.endswith(LAST_SENTENCE_END)
    assert body == body.strip()


def test_seed_header_lines_not_in_body(seed_parsed: ParsedText) -> None:
    body_lines = {line.strip() for line in seed_parsed.body.splitlines()}
    for header in ("Chinese giant Alibaba accused by Washington", "Business", "BB.LV"):
        assert header not in body_lines
    assert "Publiation data" not in seed_parsed.body


def test_seed_boilerplate_removed(seed_parsed: ParsedText) -> None:
    upper = seed_parsed.body.upper()
    assert "ALSO IN CATEGORY" not in upper
    assert "READ ALSO" not in upper


def test_seed_no_body_text_lost(seed_raw: str, seed_parsed: ParsedText) -> None:
    paragraphs = _raw_body_paragraphs(seed_raw)
    assert len(paragraphs) == 9  # the Russian lead plus eight English paragraphs
    for paragraph in paragraphs:
        assert paragraph in seed_parsed.body
    # and in the original order
    positions = [seed_parsed.body.index(p) for p in paragraphs]
    assert positions == sorted(positions)


def test_crlf_and_bom_are_normalised(seed_raw: str, seed_parsed: ParsedText) -> None:
    windows = "\ufeff" + seed_raw.replace("\n", "\r\n")
    assert parse_scraped_text(windows) == seed_parsed


# -- boilerplate ----------------------------------------------------------------------------------


def test_boilerplate_word_inside_prose_is_kept() -> None:
    mid = (
        "Read also the report that the agency released last autumn, because it explains in much more detail "
        "why the regulators decided to act against the company at this particular moment."
    )
    raw = "\n\n".join(
        [
            "Regulators fine retailer",
            "Business",
            "BB.LV",
            "Published: 18.11.2025 09:21",
            LONG_PROSE,
            mid,
            "The company said it would appeal the decision in court before the end of the year.",
            "READ ALSO",
            "Markets close higher",
            "Oil prices fall again",
        ]
    )
    body = parse_scraped_text(raw).body
    assert mid in body
    assert body.endswith("The company said it would appeal the decision in court before the end of the year.")
    assert "READ ALSO" not in body
    assert "Oil prices fall again" not in body


def test_short_marker_line_followed_by_prose_is_kept() -> None:
    text = f"{LONG_PROSE}\n\nRead also:\n\n{LONG_PROSE.upper()}"
    assert strip_boilerplate_tail(text) == text


def test_marker_followed_by_long_unpunctuated_paragraph_is_kept() -> None:
    tail = (
        "Comments\n\nThe minister answered questions from readers for an hour and promised a second session "
        "next month (the transcript is available on the ministry website)"
    )
    text = f"{LONG_PROSE}\n\n{tail}"
    assert strip_boilerplate_tail(text) == text


def test_strip_tail_cuts_marker_and_link_lines() -> None:
    text = f"{LONG_PROSE}\n\nSee also\nMarkets close higher\nOil prices fall again\n\nTags: economy, oil"
    assert strip_boilerplate_tail(text) == LONG_PROSE


def test_strip_tail_without_marker_keeps_short_last_line() -> None:
    text = f"{LONG_PROSE}\n\nReporting by Jane Doe"
    assert strip_boilerplate_tail(text) == text


def test_text_without_date_line_keeps_short_lines() -> None:
    raw = "A headline without a dateline\nShort intro line\nAnother short line\n\n" + LONG_PROSE + "\n"
    parsed = parse_scraped_text(raw)
    assert parsed.title == "A headline without a dateline"
    assert parsed.published_at is None
    assert parsed.section is None
    assert parsed.source is None
    assert parsed.body.startswith("Short intro line\nAnother short line")
    assert parsed.body.endswith(LONG_PROSE)


def test_markdown_title_and_empty_input() -> None:
    assert parse_scraped_text("# A markdown title\n\n" + LONG_PROSE).title == "A markdown title"
    assert parse_scraped_text("  \n\n \n") == ParsedText(title="", body="")


@pytest.mark.parametrize(
    "date_line",
    ["Published: 18.11.2025", "18.11.2025", "Updated - 2025-11-18 00:00", "Posted on 18/11/2025"],
)
def test_date_line_variants(date_line: str) -> None:
    raw = f"Title\n\nWorld\nexample.com\n{date_line}\n\n{LONG_PROSE}"
    parsed = parse_scraped_text(raw)
    assert parsed.published_at == "2025-11-18T00:00:00"
    assert parsed.section == "World"
    assert parsed.source == "example.com"
    assert parsed.body == LONG_PROSE


@pytest.mark.parametrize("date_line", ["Published on November 18, 2025", "Published: November 18, 2025"])
def test_date_line_with_month_name(date_line: str) -> None:
    raw = f"Title\n\nBusiness\nBB.LV\n{date_line}\n\n{LONG_PROSE}"
    parsed = parse_scraped_text(raw)
    assert parsed.published_at == "2025-11-18T00:00:00"
    assert parsed.section == "Business"
    assert parsed.source == "BB.LV"
    assert parsed.body == LONG_PROSE


@pytest.mark.parametrize("line", ["Updated November figures", "Published May", "Posted on December 32, 2025"])
def test_month_name_line_that_is_not_a_date_stays_in_body(line: str) -> None:
    parsed = parse_scraped_text(f"Title\n\n{line}\n\n{LONG_PROSE}")
    assert parsed.published_at is None
    assert parsed.body.startswith(line)


# -- parse_date -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-18T09:21:00", "2025-11-18T09:21:00"),
        ("2025-11-18T09:21:00Z", "2025-11-18T09:21:00+00:00"),
        ("2025-11-18T09:21:00+03:00", "2025-11-18T09:21:00+03:00"),
        ("18.11.2025 09:21", "2025-11-18T09:21:00"),
        ("18.11.2025", "2025-11-18T00:00:00"),
        ("2025-11-18", "2025-11-18T00:00:00"),
        ("2025/11/18", "2025-11-18T00:00:00"),
        ("November 18, 2025", "2025-11-18T00:00:00"),
        ("Nov 18, 2025", "2025-11-18T00:00:00"),
        ("18 November 2025", "2025-11-18T00:00:00"),
        ("  18.11.2025 09:21. ", "2025-11-18T09:21:00"),
    ],
)
def test_parse_date_formats(value: str, expected: str) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["", "garbage", "32.13.2025", "yesterday", "Business", "18.11"])
def test_parse_date_garbage_is_none(value: str) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.cnn.com/2022/04/12/us/five-things-april-12-trnd/index.html", "2022-04-12T00:00:00"),
        ("https://www.usatoday.com/story/news/factcheck/2020/12/16/fact-check/3910790001/", "2020-12-16T00:00:00"),
        ("https://example.com/world/2022-06-16-flood-warning", "2022-06-16T00:00:00"),
        ("https://example.com/20220616/flood", "2022-06-16T00:00:00"),
        ("https://example.com/2022/6/1/flood", "2022-06-01T00:00:00"),
    ],
)
def test_date_from_url(url: str, expected: str) -> None:
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://www.theweek.co.uk/news/world-news/961378/quiz-of-the-week-17-23-june",  # an id, not a date
        "https://example.com/2022/02/30/flood",  # no such day
        "https://example.com/2022/13/01/flood",
        "https://example.com/flood?day=2022/01/01/",  # only the path counts
        "https://example.com/story/3910790001/",
        "https://example.com/2022616/flood",  # no separators and a one-digit month: ambiguous
    ],
)
def test_date_from_url_without_a_date_is_none(url: str | None) -> None:
    assert date_from_url(url) is None


# -- language -------------------------------------------------------------------------------------


def test_detect_language() -> None:
    assert detect_language(LONG_PROSE) == "en"
    assert detect_language("Правительство объявило о новых мерах поддержки экономики страны.") == "ru"
    assert detect_language("Too short") is None
