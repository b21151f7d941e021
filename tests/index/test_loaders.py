"""Tests for index.loaders and index.articles: ids, versions, .txt/.md/.jsonl reading, encodings and errors."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from index.articles import Article, derive_article_id, is_safe_id
from index.language import foreign_letters
from index.loaders import (
    ArticleFormatError,
    article_from_record,
    article_from_text,
    articles_from_bytes,
    collect_files,
    decode_text,
    load_file,
)

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


@pytest.mark.parametrize("dateline", ["CNN —", "Washington, DC CNN —", "LONDON (Reuters) -", "New York CNN Business —"])
def test_missing_title_skips_a_dateline_line(tmp_path: Path, dateline: str) -> None:
    """A dateline says nothing of the story; the title (prefixed to every chunk for search) is the lede."""
    text = f"{dateline}\n\nOlivia Newton-John, the singer of Grease, died on Monday.\n\n" + BODY
    article = _load_one(_write_jsonl(tmp_path / "a.jsonl", {"url": URL, "text": text}))
    assert article.title == "Olivia Newton-John, the singer of Grease, died on Monday."
    alone = _load_one(_write_jsonl(tmp_path / "b.jsonl", {"url": URL, "text": f"{dateline} The story in one line."}))
    assert alone.title == f"{dateline} The story in one line."  # not a line of its own: kept whole


def test_an_undated_article_takes_the_date_its_url_files_it_under(tmp_path: Path) -> None:
    """News URLs carry the day (/2022/06/16/); without it the article would escape date filters and recency."""
    url = "https://www.cnn.com/2022/06/16/us/flood/index.html"
    undated = _load_one(_write_jsonl(tmp_path / "a.jsonl", {"url": url, "text": BODY}))
    assert undated.published_at == "2022-06-16T00:00:00"
    dated = _load_one(_write_jsonl(tmp_path / "b.jsonl", {"url": url, "published_at": "2022-06-17", "text": BODY}))
    assert dated.published_at == "2022-06-17T00:00:00"  # a date the record gives wins over the URL's
    as_text = article_from_text(f"Flood warning\n\n{BODY}", url=url)
    assert as_text.published_at == "2022-06-16T00:00:00"
    assert _load_one(_write_jsonl(tmp_path / "c.jsonl", {"url": URL, "text": BODY})).published_at is None


def test_jsonl_bad_json_line_names_the_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "feed.jsonl", {"id": "ok", "text": BODY}, '{"id": "broken", "text": ')
    with pytest.raises(ArticleFormatError, match=r"feed\.jsonl:2:"):
        list(load_file(path))


@pytest.mark.parametrize("field", ["text", "title", "source", "url", "published_at", "author", "lang"])
@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
def test_jsonl_text_that_cannot_be_stored_is_refused_naming_the_line_and_field(field: str, bad: str) -> None:
    good = json.dumps({"id": "ok", "text": BODY})
    poisoned = json.dumps({"id": "bad", "text": BODY, field: f"{BODY[:20]}{bad}"})  # escaped: valid JSON
    with pytest.raises(ArticleFormatError, match=rf"feed\.jsonl:2: '{field}' holds a (NUL character|lone surrogate)"):
        list(articles_from_bytes("feed.jsonl", f"{good}\n{poisoned}\n".encode()))


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
def test_non_utf8_file_too_short_to_tell(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes("Titre\n\nLe café est fermé.".encode("latin-1"))
    with pytest.raises(ArticleFormatError, match=r"bad\.\w+: not UTF-8 .*could not be told apart.*convert it to UTF-8"):
        list(load_file(path))


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_text(BODY, encoding="utf-8")
    with pytest.raises(ArticleFormatError, match=r"report\.pdf: unsupported file type '\.pdf'"):
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
    for rel in ["b.txt", "a.md", "sub/c.jsonl", "sub/deeper/d.TXT", "sub/e.html", "f.HTM", "notes.pdf", "z.jsonl.bak"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    found = collect_files([root])
    expected = ["a.md", "b.txt", "f.HTM", "sub/c.jsonl", "sub/deeper/d.TXT", "sub/e.html"]
    assert found == [root / rel for rel in expected]


def test_collect_files_named_file_and_missing(tmp_path: Path) -> None:
    named = tmp_path / "page.html"
    named.write_text("x", encoding="utf-8")
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "one.txt").write_text("x", encoding="utf-8")
    assert collect_files([named, folder]) == [named, folder / "one.txt"]
    with pytest.raises(ArticleFormatError, match="no such file or folder"):
        collect_files([tmp_path / "missing"])


# -- author and versions --------------------------------------------------------------------------


def _version_before_author(article: Article) -> str:
    """Article.version as computed before ``author`` existed: every field but ``id``, JSON, sha256[:16]."""
    payload = {
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "url": article.url,
        "published_at": article.published_at,
        "section": article.section,
        "lang": article.lang,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def test_version_without_author_is_unchanged(seed_path: Path) -> None:
    full = Article(
        id="x",
        title="Central bank holds rate",
        text="Body text.\nSecond line é",
        source="Example News",
        url="https://example.com/a",
        published_at="2025-11-18T09:21:00",
        section="Economy",
        lang="en",
    )
    # Values computed by the code before `author` was added: stores hold these.
    assert full.version == "46b3e5c1fcaad1fb"
    assert Article(id="y", title="T", text="B").version == "94e0f7d0878f6bb1"
    for article in (full, Article(id="y", title="T", text="B"), _load_one(seed_path)):
        assert article.author is None
        assert article.version == _version_before_author(article)


def test_author_changes_version() -> None:
    base = Article(id="one", title="T", text=BODY)
    with_author = Article(id="one", title="T", text=BODY, author="Maria Keller")
    assert with_author.version != base.version
    assert with_author.version != Article(id="one", title="T", text=BODY, author="Jo Bloggs").version


def test_jsonl_author(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "feed.jsonl", {"id": "a", "author": "  Maria Keller ", "text": BODY}, {"id": "b", "text": BODY}
    )
    with_author, without = list(load_file(path))
    assert with_author.author == "Maria Keller"
    assert without.author is None
    assert article_from_record({"id": "c", "author": "", "text": BODY}).author is None
    with pytest.raises(ArticleFormatError, match="'author' must be a string"):
        article_from_record({"id": "d", "author": ["Maria", "Jo"], "text": BODY})


# -- encodings, binary and empty files ------------------------------------------------------------

RUSSIAN = (
    "Центральный банк России в пятницу сохранил ключевую ставку на уровне 21%, сообщила пресс-служба "
    "регулятора.\n«Инфляционное давление остаётся высоким», — говорится в заявлении. Аналитики ожидали "
    "такого решения."
)
RUSSIAN_PLAIN = RUSSIAN.replace("«", '"').replace("»", '"').replace("—", "-")  # KOI8-R has no « » —
FRENCH = (
    "Le gouvernement a présenté mercredi un projet de loi très attendu sur l’énergie.\n« Nous devons agir "
    "vite », a déclaré la ministre, qui espère un vote avant l’été. Les élus de l’opposition ont dénoncé "
    "un texte « sans ambition » et réclamé des mesures pour les ménages — les œuvres sociales en tête."
)
SPANISH = (
    "El Gobierno aprobó el martes una reforma de las pensiones. «Es un día histórico», afirmó la ministra, "
    "mientras los sindicatos advirtieron que vigilarán su aplicación. La oposición anunció que recurrirá "
    "la ley ante el Tribunal Constitucional."
)
CZECH = (
    "Vláda v úterý schválila návrh zákona o státním rozpočtu. Ministr financí řekl, že schodek se příští "
    "rok sníží díky vyšším daním z příjmů. Opozice návrh kritizovala jako nedostatečný."
)
ENGLISH_QUOTES = (
    "The company said it would “review the decision” after the vote – a move analysts called overdue. "
    "Officials said the storm caused ‘significant damage’ across the region."
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (RUSSIAN, "cp1251"),
        (RUSSIAN_PLAIN, "koi8_r"),
        (FRENCH, "cp1252"),
        (FRENCH.replace("’", "'").replace("—", "-").replace("œ", "oe"), "latin-1"),
        (SPANISH, "cp1252"),
        (CZECH, "cp1250"),
        (ENGLISH_QUOTES, "cp1252"),
        (FRENCH, "utf-16"),  # with a BOM
        (RUSSIAN, "utf-32"),
        (FRENCH, "utf-16-le"),  # without one
    ],
)
def test_legacy_encodings_decoded_exactly(text: str, encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == text


def test_utf8_bom_dropped_by_decode() -> None:
    assert decode_text(b"\xef\xbb\xbf" + FRENCH.encode("utf-8")) == FRENCH


def _encodable(encodings: tuple[str, ...]) -> list[Any]:
    texts = {"ru": RUSSIAN_PLAIN, "fr": FRENCH, "es": SPANISH, "cs": CZECH, "en": ENGLISH_QUOTES}
    params = []
    for name, text in texts.items():
        for encoding in encodings:
            try:
                text.encode(encoding)
            except UnicodeEncodeError:
                continue
            params.append(pytest.param(text, encoding, id=f"{name}-{encoding}"))
    return params


@pytest.mark.parametrize(
    ("text", "encoding"),
    _encodable(("cp1250", "cp1251", "cp1252", "latin-1", "iso8859_2", "iso8859_15", "koi8_r", "mac_roman", "cp850")),
)
def test_never_garbled(text: str, encoding: str) -> None:
    """Whatever the encoding, the text comes back exactly or is refused: never silently garbled."""
    data = text.encode(encoding)
    try:
        decoded = decode_text(data)
    except ArticleFormatError as exc:
        assert "convert it to UTF-8" in str(exc)
    else:
        assert decoded == text


def test_ambiguous_encoding_refused() -> None:
    with pytest.raises(ArticleFormatError, match=r"not UTF-8 .*could not be told apart.*convert it to UTF-8"):
        decode_text("Привет мир".encode("cp1251"))  # two words: any Cyrillic code page fits


def test_cp1251_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "ставка.txt"
    path.write_bytes(f"Ключевая ставка сохранена\n\n{RUSSIAN}\n".encode("cp1251"))
    article = _load_one(path)
    assert article.title == "Ключевая ставка сохранена"
    assert article.text == RUSSIAN
    assert article.lang == "ru"


def test_cp1252_jsonl_loads(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(
        json.dumps({"id": "fr-1", "title": "Énergie", "text": FRENCH}, ensure_ascii=False).encode("cp1252")
    )
    article = _load_one(path)
    assert (article.title, article.text) == ("Énergie", FRENCH)


def _png_like() -> bytes:
    rng = random.Random(6)
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"
    return header + bytes(rng.randrange(256) for _ in range(4096))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_png_like(), "binary file"),
        (b"Headline\n\n" + b"\x00" * 64 + BODY.encode("utf-8"), "binary file"),
        (bytes(range(1, 9)) * 200, "binary file"),
        (b"", "empty file"),
        (b" \n\t\r\n  ", "empty file"),
        (b"\xef\xbb\xbf\n", "empty file"),
        ("  \n".encode("utf-16"), "empty file"),
    ],
)
@pytest.mark.parametrize("name", ["upload.txt", "upload.jsonl", "upload.html"])
def test_binary_and_empty_files_refused(tmp_path: Path, data: bytes, message: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ArticleFormatError, match=rf"^{re.escape(str(path))}: {message}"):
        list(load_file(path))
    with pytest.raises(ArticleFormatError, match=rf"^{re.escape(name)}: {message}"):
        list(articles_from_bytes(name, data))


# -- articles_from_bytes (uploads) ----------------------------------------------------------------


def test_bytes_same_as_file(seed_path: Path, tmp_path: Path) -> None:
    assert list(articles_from_bytes(seed_path.name, seed_path.read_bytes())) == list(load_file(seed_path))
    feed = _write_jsonl(tmp_path / "feed.jsonl", {"id": "a", "text": BODY}, {"id": "b", "url": URL, "text": BODY})
    assert list(articles_from_bytes("feed.jsonl", feed.read_bytes())) == list(load_file(feed))


def test_bytes_errors_start_with_the_name() -> None:
    bad_line = b'{"id": "ok", "text": "fine text here"}\n{"id": 3, "text": "x"}\n'
    with pytest.raises(ArticleFormatError, match=r"^feed\.jsonl:2: 'id' must be a string"):
        list(articles_from_bytes("feed.jsonl", bad_line))
    with pytest.raises(ArticleFormatError, match=r"^notes\.txt: the article has no body"):
        list(articles_from_bytes("notes.txt", b"Only a title\n"))
    with pytest.raises(ArticleFormatError, match=r"^scan\.pdf: unsupported file type '\.pdf'"):
        list(articles_from_bytes("scan.pdf", b"%PDF-1.7"))
    with pytest.raises(ArticleFormatError, match=r"^README: unsupported file type ''"):
        list(articles_from_bytes("README", BODY.encode()))


def test_bytes_id_is_the_stem() -> None:
    (article,) = articles_from_bytes("uploads/cb-holds.md", f"# Rate decision\n\n{BODY}".encode())
    assert article.id == "cb-holds"
    (windows,) = articles_from_bytes("C:\\news\\cb-holds.txt", f"Rate decision\n\n{BODY}".encode())
    assert windows.id == "cb-holds"


def test_foreign_letters_tell_readings_apart() -> None:
    """The measure behind the choice between code pages: wrong readings put odd letters or symbols in words."""
    assert foreign_letters("El niño comió piñas", "es") == 0
    assert foreign_letters("El ni–o comi— pi–as", "es") > 0  # Mac Roman bytes read as Windows-1252
    assert foreign_letters("Vláda schválila rozpočet", "cs") < foreign_letters("Vláda schválila rozpoèet", "cs")
    assert foreign_letters("les œuvres", "fr") < foreign_letters("les ½uvres", "fr")
    assert foreign_letters("the “new rules” – 25°C", "en") == 0


# -- the article limit ------------------------------------------------------------------------------


def test_jsonl_reading_stops_one_article_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload over the limit is refused without parsing (and language-detecting) the rest of it."""
    import index.loaders

    built: list[str] = []

    def counting(record: dict[str, Any]) -> Article:
        built.append(record["id"])
        return article_from_record(record)

    monkeypatch.setattr(index.loaders, "article_from_record", counting)
    lines = [json.dumps({"id": f"a{i}", "text": f"{BODY} Number {i}."}) for i in range(5000)]
    data = "\n\n".join([*lines, "{not json: never reached"]).encode()
    articles = list(articles_from_bytes("many.jsonl", data, max_articles=5))
    assert [a.id for a in articles] == built == [f"a{i}" for i in range(6)]
    assert len(list(articles_from_bytes("few.jsonl", "\n".join(lines[:3]).encode(), max_articles=5))) == 3
    at_the_limit = "\n".join([*lines[:5], "{not json"]).encode()  # five articles are not over a limit of five
    with pytest.raises(ArticleFormatError, match=r"^short\.jsonl:6: "):
        list(articles_from_bytes("short.jsonl", at_the_limit, max_articles=5))


def test_a_limit_of_zero_still_shows_one_article() -> None:
    """The caller learns a file has more than it accepts (one more), even when it accepts none."""
    assert len(list(articles_from_bytes("one.txt", f"Title\n\n{BODY}".encode(), max_articles=0))) == 1
    record = json.dumps({"text": BODY})
    assert len(list(articles_from_bytes("two.jsonl", f"{record}\n{record}".encode(), max_articles=0))) == 1


@pytest.mark.parametrize("raw", ["", "\n", "a", "a\n", "a\n\nb", "\na\r\nb\n\n", "x" * 10])
def test_jsonl_lines_split_as_str_split(raw: str) -> None:
    from index.loaders import _lines

    assert list(_lines(raw)) == raw.split("\n")
