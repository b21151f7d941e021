"""Turn a scraped news page saved as text into metadata plus clean body text.

The common shape: a title line, a few short header lines (section, outlet, a date line), the body,
and site boilerplate at the end ("ALSO IN CATEGORY", "READ ALSO"). Only lines that are clearly
header or boilerplate are removed; anything that might be body text is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

# A prefixed line whose value starts like a date (a digit or an English month name); parse_date
# decides whether it is one, so "Updated November figures" stays body text.
_DATE_LINE = re.compile(
    r"^(?:publi\w*(?:\s+(?:date|data|on))?|published|date|updated|posted(?:\s+on)?)\s*[:\-–]?\s*"
    r"(?P<value>(?:\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b).*)$",
    re.IGNORECASE,
)
_DATE_FORMATS = (
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y %H:%M",
)
_BOILERPLATE = re.compile(
    r"^(?:also in (?:this )?category|read also|read more|see also|related(?: articles| news| stories)?"
    r"|more from .{1,40}|more stories|share(?: this)?(?: article| story)?|subscribe\b.*|advertisement"
    r"|comments?|tags?\b.*|you may also like|recommended(?: for you)?|follow us\b.*|most read"
    r"|popular|top stories)\s*:?$",
    re.IGNORECASE,
)
# A date in a URL's path, as most news sites file their stories: /2022/06/16/, /2022-06-16-, /20220616/.
_URL_DATE = re.compile(r"/((?:19|20)\d\d)([/-]?)(0[1-9]|1[0-2]|[1-9])\2(0[1-9]|[12]\d|3[01]|[1-9])(?=[/_.-]|$)")
_OUTLET = re.compile(r"^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$|^[A-Z0-9][A-Z0-9 &'-]{1,30}$")
_MAX_HEADER_LINES = 5
_SHORT_TAIL_WORDS = 12


@dataclass(frozen=True)
class ParsedText:
    title: str
    body: str
    section: str | None = None
    source: str | None = None
    published_at: str | None = None


def parse_date(value: str) -> str | None:
    """Parse the date formats news sites print into ISO 8601 (naive when no zone is given)."""
    value = value.strip().rstrip(".")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).isoformat()
        except ValueError:
            continue
    return None


def date_from_url(url: str | None) -> str | None:
    """The day a news URL's path files the story under (``/2022/06/16/``), as ISO 8601 at midnight; else None.

    Many scraped articles carry no date field while their URL has one; without it they would fall
    outside date filters and the recency bonus. Only the path is read, so a query string is ignored."""
    if not url:
        return None
    path = urlsplit(url).path
    for match in _URL_DATE.finditer(path):
        year, separator, month, day = match.groups()
        if not separator and (len(month) < 2 or len(day) < 2):
            continue  # "/2022616/" is ambiguous without separators
        try:
            return datetime(int(year), int(month), int(day)).isoformat()  # the shape parse_date gives a day
        except ValueError:  # 2022/02/30
            continue
    return None


def publication_date(value: str | None, url: str | None) -> str | None:
    """An article's date: the one it gives, parsed, else the day its URL files it under."""
    return (parse_date(value) if value else None) or date_from_url(url)


def _is_short_header(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 6 and len(line) <= 60 and not line.rstrip().endswith((".", "!", "?", ":"))


def _classify_header(lines: list[str]) -> tuple[str | None, str | None]:
    """Return (section, source) from the short lines between the title and the date line."""
    section: str | None = None
    source: str | None = None
    for line in lines:
        if source is None and _OUTLET.match(line):
            source = line
        elif section is None:
            section = line
        elif source is None:
            source = line
    return section, source


def strip_boilerplate_tail(text: str) -> str:
    """Cut the trailing site furniture that starts at a boilerplate marker.

    Cuts at the first marker line after which every non-empty line is a marker or a short link-like
    line, so a marker word in the middle of real prose never loses body text.
    """
    lines = text.split("\n")
    cut: int | None = None
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i].strip()
        if not line:
            continue
        if _BOILERPLATE.match(line):
            cut = i
        elif len(line.split()) > _SHORT_TAIL_WORDS or line.endswith((".", "!", "?", '"', "”")):
            break
    if cut is None:
        return text.rstrip()
    return "\n".join(lines[:cut]).rstrip()


def parse_scraped_text(raw: str) -> ParsedText:
    """Split a scraped article into title, header metadata and body."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    nonempty = [i for i, line in enumerate(lines) if line.strip()]
    if not nonempty:
        return ParsedText(title="", body="")
    title_idx = nonempty[0]
    title = lines[title_idx].strip().lstrip("#").strip()

    header: list[str] = []
    published_at: str | None = None
    body_start = title_idx + 1
    for i in nonempty[1 : 1 + _MAX_HEADER_LINES + 1]:
        line = lines[i].strip()
        date_match = _DATE_LINE.match(line)
        parsed = parse_date(date_match.group("value")) if date_match else parse_date(line)
        if parsed is not None:
            published_at = parsed
            body_start = i + 1
            break
        if not _is_short_header(line):
            break
        header.append(line)
    section, source = _classify_header(header) if published_at else (None, None)

    body = "\n".join(lines[body_start:]).strip("\n")
    body = strip_boilerplate_tail(body).strip()
    return ParsedText(title=title, body=body, section=section, source=source, published_at=published_at)
