"""Tests for index.loaders and index.articles: ids, versions, .txt/.md/.jsonl reading and errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from index.articles import Article, derive_article_id, is_safe_id
from index.loaders import ArticleFormatError, article_from_record, collect_files, load_file

SEED_ID = "000_070c77320a5da855"
BODY = (
    "The central bank kept its key rate unchanged on Tuesday, citing persistent inflation and a weaker "
    "currency. Analysts had expected the decision and markets barely moved after the announcement."
)
URL = "https://example.com/news/central-bank-holds-rate"


def _load_one(path: Path) -> Article:
    articles = list(load_file(path))
    assert len(articles) == 1
    return articles[0]


def _write_jsonl(path: Path, *records: dict[str, Any] | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _url_id(url: str) -> str:
    return "a_" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


# -- .txt / .md files -----------------------------------------------------------------------------


def test_seed_txt_id_is_stem_and_metadata(seed_path: Path) -> None:
    article = _load_one(seed_path)
    assert article.id == SEED_ID == seed_path.stem
    assert article.title == "Chinese giant Alibaba accused by Washington"
    assert article.section == "Business"
    assert article.source == "BB.LV"
    assert article.published_at == "2025-11-18T09:21:00"
    assert article.lang == "en"
    assert article.url is None
    assert len(article.version) == 16


def test_same_content_gives_same_id_and_version(seed_path: Path, tmp_path: Path) -> None:
    copy_dir = tmp_path / "copy"
    copy_dir.mkdir()
    copy = Path(shutil.copy(seed_path, copy_dir / seed_path.name))
    first, again, copied = _load_one(seed_path), _load_one(seed_path), _load_one(copy)
    assert first == again == copied
    assert first.id == copied.id
    assert first.version == again.version == copied.version


def test_changed_text_changes_version_not_id(seed_path: Path, tmp_path: Path) -> None:
    original = _load_one(seed_path)
    raw = seed_path.read_text(encoding="utf-8")
    edited = tmp_path / seed_path.name
    edited.write_text(raw.replace("The specific targets are not specified.", "The targets were not named."))
    changed = _load_one(edited)
    assert changed.id == original.id
    assert changed.text != original.text
    assert changed.version != original.version


def test_version_ignores_id_but_covers_metadata() -> None:
    base = Article(id="one", title="T", text=BODY)
    assert Article(id="two", title="T", text=BODY).version == base.version
    assert Article(id="one", title="T2", text=BODY).version != base.version
    assert Article(id="one", title="T", text=BODY, source="X").version != base.version


def test_md_file_title_and_unsafe_stem(tmp_path: Path) -> None:
    path = tmp_path / "my article (draft).md"
    path.write_text(f"# Rate decision\n\n{BODY}\n", encoding="utf-8")
    article = _load_one(path)
    assert article.title == "Rate decision"
    assert article.text == BODY
    assert not is_safe_id(path.stem)
    assert article.id == _url_id(path.stem)  # unsafe ids are hashed, the same way as a URL
    assert article.id == _load_one(path).id


def test_txt_without_body_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("Only a title\n\nREAD ALSO\n", encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=r"empty\.txt.*no body"):
        list(load_file(path))


# -- .jsonl files ---------------------------------------------------------------------------------


def test_jsonl_fields_mapped(tmp_path: Path) -> None:
    record = {
        "id": "cb-2025-11-18",
        "title": "  Central bank holds rate  ",
        "url": URL,
        "source": "Example News",
        "published_at": "18.11.2025 09:21",
        "section": "Economy",
        "lang": "en",
        "text": BODY + "\n\nREAD ALSO\nSomething else entirely",
    }
    second = {"id": "second", "title": "Second", "text": "Правительство объявило о новых мерах поддержки экономики."}
    path = _write_jsonl(tmp_path / "feed.jsonl", record, "", second)
    first, other = list(load_file(path))
    assert first == Article(
        id="cb-2025-11-18",
        title="Central bank holds rate",
        text=BODY,
        source="Example News",
        url=URL,
        published_at="2025-11-18T09:21:00",
        section="Economy",
        lang="en",
    )
    assert other.id == "second"
    assert other.lang == "ru"  # detected when the record has none


def test_jsonl_missing_id_falls_back_to_url_hash(tmp_path: Path) -> None:
    record = {"title": "Central bank holds rate", "url": URL, "text": BODY}
    first = _load_one(_write_jsonl(tmp_path / "a.jsonl", record))
    assert first.id == _url_id(URL)
    again = _load_one(_write_jsonl(tmp_path / "b.jsonl", record))
    assert again.id == first.id
    corrected = _load_one(_write_jsonl(tmp_path / "c.jsonl", {**record, "text": BODY + " A correction."}))
    assert corrected.id == first.id
    assert corrected.version != first.version


def test_jsonl_unsafe_or_blank_id() -> None:
    assert article_from_record({"id": "has spaces/and slashes", "text": BODY}).id == _url_id("has spaces/and slashes")
    assert article_from_record({"id": "", "url": URL, "text": BODY}).id == _url_id(URL)
    assert derive_article_id(explicit=" ok-id ", url=URL, fallback_key="x") == "ok-id"


def test_jsonl_missing_title_derived_from_text(tmp_path: Path) -> None:
    short = _load_one(_write_jsonl(tmp_path / "a.jsonl", {"url": URL, "text": "First line here\n" + BODY}))
    assert short.title == "First line here"
    long = _load_one(_write_jsonl(tmp_path / "b.jsonl", {"url": URL, "text": BODY}))
    assert long.title.endswith("…")
    assert len(long.title) <= 121
    assert BODY.startswith(long.title[:-1])


def test_jsonl_bad_json_line_names_the_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "feed.jsonl", {"id": "ok", "text": BODY}, '{"id": "broken", "text": ')
    with pytest.raises(ArticleFormatError, match=r"feed\.jsonl:2:"):
        list(load_file(path))


def test_jsonl_non_object_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "feed.jsonl", '["not", "an", "object"]')
    with pytest.raises(ArticleFormatError, match=r"feed\.jsonl:1: .*JSON object"):
        list(load_file(path))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x"}, "'text' must be a non-empty string"),
        ({"id": "x", "text": ""}, "'text' must be a non-empty string"),
        ({"id": "x", "text": " \n\t "}, "'text' must be a non-empty string"),
        ({"id": "x", "text": 42}, "'text' must be a non-empty string"),
        ({"id": 7, "text": BODY}, "'id' must be a string"),
        ({"id": "x", "title": ["a"], "text": BODY}, "'title' must be a string"),
    ],
)
def test_jsonl_invalid_records(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    path = _write_jsonl(tmp_path / "feed.jsonl", {"id": "ok", "text": BODY}, {"id": "ok2", "text": BODY}, record)
    with pytest.raises(ArticleFormatError) as info:
        list(load_file(path))
    assert f"feed.jsonl:3: {message}" in str(info.value)


@pytest.mark.parametrize("name", ["bad.txt", "bad.jsonl"])
def test_non_utf8_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes("Titre\n\nLe café est fermé.".encode("latin-1"))
    with pytest.raises(ArticleFormatError, match="not UTF-8"):
        list(load_file(path))


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(f"<p>{BODY}</p>", encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=r"unsupported file type '\.html'"):
        list(load_file(path))


def test_jsonl_boilerplate_only_text_is_an_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "feed.jsonl", {"id": "x", "title": "t", "text": "READ ALSO"})
    with pytest.raises(ArticleFormatError, match=r"feed\.jsonl:1: .*boilerplate"):
        list(load_file(path))


@pytest.mark.parametrize("name", ["feed.jsonl", "page.txt"])
def test_utf8_bom_is_dropped(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    content = json.dumps({"id": "x", "title": "t", "text": BODY}) if name.endswith(".jsonl") else f"t\n\n{BODY}"
    path.write_text("\ufeff" + content + "\n", encoding="utf-8")
    article = _load_one(path)
    assert article.title == "t"
    assert article.text == BODY


# -- collect_files --------------------------------------------------------------------------------


def test_collect_files_recursive_sorted(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for rel in ["b.txt", "a.md", "sub/c.jsonl", "sub/deeper/d.TXT", "sub/e.html", "notes.pdf", "z.jsonl.bak"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    found = collect_files([root])
    assert found == [root / "a.md", root / "b.txt", root / "sub/c.jsonl", root / "sub/deeper/d.TXT"]


def test_collect_files_named_file_and_missing(tmp_path: Path) -> None:
    named = tmp_path / "page.html"
    named.write_text("x", encoding="utf-8")
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "one.txt").write_text("x", encoding="utf-8")
    assert collect_files([named, folder]) == [named, folder / "one.txt"]
    with pytest.raises(ArticleFormatError, match="no such file or folder"):
        collect_files([tmp_path / "missing"])
