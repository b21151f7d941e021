"""Read articles from `.txt`/`.md` files, saved web pages (`.html`/`.htm`) and `.jsonl` files (one article a line).

Files are read as bytes and decoded by ``index.encoding``, so a file from disk and an upload go the
same way and a file that is empty, binary or in an unknown encoding is refused with a clear message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from index.articles import Article, ArticleFormatError, derive_article_id, title_from_text, unstorable
from index.encoding import decode_text, sniff_html_charset
from index.html import article_from_html
from index.language import detect_language
from index.parsing import parse_scraped_text, publication_date, strip_boilerplate_tail

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ArticleFormatError",
    "article_from_html",
    "article_from_record",
    "article_from_text",
    "articles_from_bytes",
    "collect_files",
    "decode_text",
    "expected_count",
    "load_file",
]

TEXT_SUFFIXES = frozenset({".txt", ".md"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
_STRING_FIELDS = ("id", "title", "url", "source", "published_at", "section", "author", "lang")


def article_from_text(raw: str, *, article_id: str | None = None, url: str | None = None) -> Article:
    """Build an article from scraped text: metadata from the header lines, boilerplate dropped."""
    parsed = parse_scraped_text(raw)
    if not parsed.body:
        raise ArticleFormatError("the article has no body text")
    return Article(
        id=derive_article_id(explicit=article_id, url=url, fallback_key=parsed.title),
        title=parsed.title or title_from_text(parsed.body),
        text=parsed.body,
        source=parsed.source,
        url=url,
        published_at=publication_date(parsed.published_at, url),
        section=parsed.section,
        lang=detect_language(parsed.body),
    )


def article_from_record(record: dict[str, Any]) -> Article:
    """Build an article from a JSON object: ``id?, title, url?, source?, published_at?, section?, author?, text``."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ArticleFormatError("'text' must be a non-empty string")
    for key in ("text", *_STRING_FIELDS):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise ArticleFormatError(f"'{key}' must be a string")
        if value is not None and (problem := unstorable(value)):
            raise ArticleFormatError(f"'{key}' holds {problem}")
    text = strip_boilerplate_tail(text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:  # checked again: a text of site furniture only ("READ ALSO") is empty once stripped
        raise ArticleFormatError("'text' has no body text once site boilerplate is removed")
    title = (record.get("title") or "").strip() or title_from_text(text)
    raw_date = record.get("published_at")
    url = record.get("url") or None
    return Article(
        id=derive_article_id(explicit=record.get("id"), url=url, fallback_key=f"{record.get('source')}|{title}"),
        title=title,
        text=text,
        source=record.get("source") or None,
        url=url,
        published_at=publication_date(raw_date, url),
        section=record.get("section") or None,
        author=(record.get("author") or "").strip() or None,
        lang=record.get("lang") or detect_language(text),
    )


def load_file(path: Path) -> Iterator[Article]:
    """Yield the articles in one file; raises ArticleFormatError naming the file (and line) on bad input."""
    _check_suffix(str(path))  # before reading: an unsupported file may be large
    yield from articles_from_bytes(str(path), path.read_bytes())


def articles_from_bytes(name: str, data: bytes, *, max_articles: int | None = None) -> Iterator[Article]:
    """Yield the articles in a file called ``name`` holding ``data`` (an upload, or a file read from disk).

    The suffix of ``name`` picks the format and its stem is the id of a text or HTML article; errors
    start with ``name:`` (``name:lineno:`` for a JSONL line). With ``max_articles``, reading stops after
    ``max_articles + 1`` articles: enough for the caller to refuse a file over its limit without parsing
    (and detecting the language of) the rest of it.
    """
    suffix = _check_suffix(name)
    try:
        raw = decode_text(data, declared=sniff_html_charset(data) if suffix in HTML_SUFFIXES else None)
    except ArticleFormatError as exc:
        raise ArticleFormatError(f"{name}: {exc}") from exc
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_articles(name, raw, max_articles)
        return
    stem = PurePosixPath(name.replace("\\", "/")).stem
    try:
        if suffix in HTML_SUFFIXES:
            yield article_from_html(raw, article_id=stem)
        else:
            yield article_from_text(raw, article_id=stem)
    except ArticleFormatError as exc:
        raise ArticleFormatError(f"{name}: {exc}") from exc


def _jsonl_articles(name: str, raw: str, max_articles: int | None = None) -> Iterator[Article]:
    seen = 0
    for lineno, line in enumerate(_lines(raw), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ArticleFormatError("each line must be a JSON object")
            article = article_from_record(record)
        except (json.JSONDecodeError, ArticleFormatError) as exc:
            raise ArticleFormatError(f"{name}:{lineno}: {exc}") from exc
        seen += 1
        yield article
        if max_articles is not None and seen > max_articles:
            return  # the caller has one more than it accepts: the rest is never parsed


def _lines(raw: str) -> Iterator[str]:
    """The lines of ``raw`` one at a time: stopping early never splits (copies) the rest of a large file."""
    start = 0
    while (end := raw.find("\n", start)) >= 0:
        yield raw[start:end]
        start = end + 1
    yield raw[start:]


def _check_suffix(name: str) -> str:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ArticleFormatError(
            f"{name}: unsupported file type {suffix!r} (use {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    return suffix


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their supported files (sorted, recursive); named files are kept as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise ArticleFormatError(f"{path}: no such file or folder")
    return files


def expected_count(path: Path) -> int:
    """How many articles ``load_file`` will try to read from a file (for progress bars)."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    return 1
