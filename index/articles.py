"""The Article record that flows from loaders to the store, and how its id and version are derived."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_TITLE_FALLBACK_CHARS = 120
_DATELINE = re.compile(r"^\S.*\s[—–-]{1,2}$")
_DATELINE_MAX_WORDS = 8


class ArticleFormatError(ValueError):
    """An input file or record that cannot be read as an article; the message says where and why."""


@dataclass(frozen=True)
class Article:
    """One news article as Citewire stores it; ``text`` is the canonical text all offsets refer to."""

    id: str
    title: str
    text: str
    source: str | None = None
    url: str | None = None
    published_at: str | None = None
    section: str | None = None
    author: str | None = None
    lang: str | None = None

    @property
    def version(self) -> str:
        """A content hash: equal versions mean re-ingesting changes nothing."""
        payload = asdict(self)
        payload.pop("id")
        if payload["author"] is None:  # added later: stored versions of articles without an author must not change
            payload.pop("author")
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]


def chunk_search_text(title: str, chunk_text: str) -> str:
    """What both retrievers see of a chunk (embedded and BM25-indexed): the title gives short chunks their topic."""
    return f"{title}\n{chunk_text}" if title else chunk_text


def same_story(title: str, other_title: str, text: str) -> bool:
    """Whether two articles with this same ``text`` are one story: their headlines agree, or one has
    none of its own (a missing title is filled from the text's first line).

    Identical text under two different headlines is not one story: scraped pages whose body is a
    paywall, newsletter or ad template share one text under many headlines, and the headline is then
    all the page says (RealTime QA has 49 such pages, 17 of them gold)."""
    a, b = _headline_key(title), _headline_key(other_title)
    derived = _headline_key(title_from_text(text))
    return a == b or derived in (a, b)


def _headline_key(title: str) -> str:
    return " ".join(title.split()).casefold()


def title_from_text(text: str) -> str:
    """A title for an article that has none: its first line, cut at a word when long.

    A dateline on a line of its own ("CNN —", "Washington, DC CNN —") is skipped for the line after
    it: the title is prefixed to every chunk for search, and a dateline says nothing of the story."""
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()] or [""]
    first_line = lines[1] if len(lines) > 1 and is_dateline(lines[0]) else lines[0]
    if len(first_line) <= _TITLE_FALLBACK_CHARS:
        return first_line
    return first_line[:_TITLE_FALLBACK_CHARS].rsplit(" ", 1)[0] + "…"


def is_dateline(line: str) -> bool:
    """A few words ending in a dash that open a news text: "CNN —", "LONDON (Reuters) -"."""
    return bool(_DATELINE.match(line)) and len(line.split()) <= _DATELINE_MAX_WORDS


def unstorable(value: str) -> str | None:
    """What keeps ``value`` from being stored as text, or None: a NUL, or a lone surrogate (JSON can
    escape one, but no UTF-8 text can hold it)."""
    if "\x00" in value:
        return "a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not valid Unicode text)"
    return None


def is_safe_id(candidate: str) -> bool:
    return bool(_SAFE_ID.match(candidate))


def derive_article_id(*, explicit: str | None, url: str | None, fallback_key: str) -> str:
    """A stable id: the caller's own id if it is safe, else a hash of the URL, else of a fallback key.

    The id must not depend on the text, so that a corrected article replaces its earlier version.
    """
    if explicit:
        explicit = explicit.strip()
        if is_safe_id(explicit):
            return explicit
        return "a_" + hashlib.sha256(explicit.encode("utf-8")).hexdigest()[:16]
    key = url.strip() if url else fallback_key
    return "a_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
