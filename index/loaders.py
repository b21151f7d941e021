"""Read articles from `.txt`/`.md` files and `.jsonl` files (one article per line)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from index.articles import Article, derive_article_id
from index.language import detect_language
from index.parsing import parse_date, parse_scraped_text, strip_boilerplate_tail

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES
_TITLE_FALLBACK_CHARS = 120


class ArticleFormatError(ValueError):
    """An input file or record that cannot be read as an article; the message says where and why."""


def article_from_text(raw: str, *, article_id: str | None = None, url: str | None = None) -> Article:
    """Build an article from scraped text: metadata from the header lines, boilerplate dropped."""
    parsed = parse_scraped_text(raw)
    if not parsed.body:
        raise ArticleFormatError("the article has no body text")
    return Article(
        id=derive_article_id(explicit=article_id, url=url, fallback_key=parsed.title),
        title=parsed.title or _title_from_text(parsed.body),
        text=parsed.body,
        source=parsed.source,
        url=url,
        published_at=parsed.published_at,
        section=parsed.section,
        lang=detect_language(parsed.body),
    )


def article_from_record(record: dict[str, Any]) -> Article:
    """Build an article from a JSON object: ``id?, title, url?, source?, published_at?, text``."""
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ArticleFormatError("'text' must be a non-empty string")
    for key in ("id", "title", "url", "source", "published_at", "section", "lang"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ArticleFormatError(f"'{key}' must be a string")
    text = strip_boilerplate_tail(text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:  # checked again: a text of site furniture only ("READ ALSO") is empty once stripped
        raise ArticleFormatError("'text' has no body text once site boilerplate is removed")
    title = (record.get("title") or "").strip() or _title_from_text(text)
    raw_date = record.get("published_at")
    url = record.get("url") or None
    return Article(
        id=derive_article_id(explicit=record.get("id"), url=url, fallback_key=f"{record.get('source')}|{title}"),
        title=title,
        text=text,
        source=record.get("source") or None,
        url=url,
        published_at=parse_date(raw_date) if raw_date else None,
        section=record.get("section") or None,
        lang=record.get("lang") or detect_language(text),
    )


def _title_from_text(text: str) -> str:
    first_line = text.strip().split("\n", 1)[0].strip()
    if len(first_line) <= _TITLE_FALLBACK_CHARS:
        return first_line
    return first_line[:_TITLE_FALLBACK_CHARS].rsplit(" ", 1)[0] + "…"


def load_file(path: Path) -> Iterator[Article]:
    """Yield the articles in one file; raises ArticleFormatError naming the file (and line) on bad input."""
    suffix = path.suffix.lower()
    try:
        raw = path.read_text(encoding="utf-8-sig")  # -sig: drop the BOM that Windows tools write
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if suffix in TEXT_SUFFIXES:
        try:
            yield article_from_text(raw, article_id=path.stem)
        except ArticleFormatError as exc:
            raise ArticleFormatError(f"{path}: {exc}") from exc
    elif suffix in JSONL_SUFFIXES:
        for lineno, line in enumerate(raw.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ArticleFormatError("each line must be a JSON object")
                yield article_from_record(record)
            except (json.JSONDecodeError, ArticleFormatError) as exc:
                raise ArticleFormatError(f"{path}:{lineno}: {exc}") from exc
    else:
        raise ArticleFormatError(
            f"{path}: unsupported file type {suffix!r} (use {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )


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
