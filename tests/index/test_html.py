"""Tests for index.html: a saved news page becomes an article without its site furniture."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest

from index.html import article_from_html
from index.loaders import ArticleFormatError, articles_from_bytes, load_file

CANONICAL = "https://harbourherald.example/economy/port-strike-halts-grain-exports"
PARAGRAPHS = [
    "Dock workers at the country's largest port walked out on Friday morning, halting grain shipments that had "
    "only just recovered from last year's drought. The union said the strike would last at least three days.",
    "About forty vessels were waiting at anchor by midday, according to the harbour master's office. Traders "
    "warned that prices for wheat futures could climb if the stoppage continued into next week.",
    '"We cannot afford a long dispute at this time of year," a spokesperson for the transport ministry said, '
    "adding that mediators were available from Saturday.",
    "Port operators said they had offered a wage increase of four percent, which the union rejected as "
    "insufficient given inflation running above six percent.",
]
# Site furniture around the article: none of it may reach the body.
FURNITURE = [
    "We use cookies to improve your experience",
    "Accept all cookies",
    "Weather forecast",
    "Subscribe to our newsletter",
    "Buy the new SuperPhone X",
    "Related stories",
    "Drought cuts harvest by a third",
    "This is outrageous",
    "All rights reserved",
    "Privacy policy",
]

NEWS_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Port strike halts grain exports | Harbour Herald</title>
  <meta property="og:title" content="Port strike halts grain exports">
  <meta property="og:site_name" content="Harbour Herald">
  <meta property="article:published_time" content="2025-03-14T08:30:00+01:00">
  <meta name="author" content="Maria Keller">
  <link rel="canonical" href="{CANONICAL}">
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
    <button>Accept all cookies</button></div>
  <header class="site-header">
    <nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/economy">Economy</a></li>
      <li><a href="/weather">Weather forecast</a></li></ul></nav>
    <div class="newsletter">Subscribe to our newsletter</div>
  </header>
  <main>
    <article>
      <h1>Port strike halts grain exports</h1>
      <p class="byline">By <span class="author">Maria Keller</span> ·
        <time datetime="2025-03-14T08:30:00+01:00">14 March 2025</time></p>
      <p>{PARAGRAPHS[0]}</p>
      <div class="ad">Advertisement: Buy the new SuperPhone X today with zero interest financing!</div>
      <p>{PARAGRAPHS[1]}</p>
      <p>{PARAGRAPHS[2]}</p>
      <p>{PARAGRAPHS[3]}</p>
    </article>
    <aside class="related">
      <h2>Related stories</h2>
      <ul><li><a href="/a">Drought cuts harvest by a third</a></li><li><a href="/b">Wheat at two-year high</a></li></ul>
    </aside>
    <section class="comments"><h3>Comments</h3>
      <p>Reader123: This is outrageous, the unions always do this every spring.</p></section>
  </main>
  <footer><p>© 2025 Harbour Herald Media Group. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a> <a href="/contact">Contact us</a></footer>
</body>
</html>
"""

# No metadata in <head>: author, date and title come from the byline, <time> and <title>.
BYLINE_PAGE = """<html><head><title>Council delays budget vote | City Gazette</title></head><body>
<nav><a href="/">Home</a> <a href="/politics">Politics</a></nav>
<article>
  <h1>Council delays budget vote</h1>
  <div class="byline">By <a rel="author" href="/staff/jo-bloggs">Jo Bloggs</a></div>
  <time datetime="2025-02-03">3 February 2025</time>
  <p>The city council postponed its budget vote on Monday after a row over funding for schools in the north.</p>
  <h2>Schools first</h2>
  <p>Opposition members said cuts to school maintenance were unacceptable and demanded a new draft by March.</p>
  <table><tr><th>Item</th><th>Change</th></tr><tr><td>Schools</td><td>-4%</td></tr></table>
  <p>The mayor said a revised budget would be presented within two weeks, after talks with the unions.</p>
</article>
<footer>City Gazette 2025</footer></body></html>
"""


def _url_id(url: str) -> str:
    return "a_" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def test_news_page_metadata_and_clean_body() -> None:
    article = article_from_html(NEWS_PAGE)
    assert article.title == "Port strike halts grain exports"
    assert article.author == "Maria Keller"
    assert article.published_at == "2025-03-14T08:30:00+01:00"
    assert article.source == "Harbour Herald"
    assert article.url == CANONICAL
    assert article.id == _url_id(CANONICAL)
    assert article.lang == "en"
    assert article.text == "\n".join(PARAGRAPHS)  # one paragraph a line, headline and byline not repeated
    for furniture in FURNITURE:
        assert furniture not in article.text


def test_given_url_and_id_win() -> None:
    url = "https://mirror.example/strike"
    assert article_from_html(NEWS_PAGE, url=url).url == url
    assert article_from_html(NEWS_PAGE, url=url).id == _url_id(url)
    assert article_from_html(NEWS_PAGE, article_id="strike-1", url=url).id == "strike-1"


def test_byline_time_and_title_tag() -> None:
    article = article_from_html(BYLINE_PAGE)
    assert article.title == "Council delays budget vote"
    assert article.author == "Jo Bloggs"
    assert article.published_at == "2025-02-03T00:00:00"
    lines = article.text.split("\n")
    assert lines[0].startswith("The city council postponed")
    assert "Schools first" in lines  # a subheading is its own line
    assert "| Schools | -4% |" in lines  # tables as rows, without the Markdown rule line
    assert not any(set(line) <= set("|-: ") for line in lines)
    assert lines[-1].startswith("The mayor said")
    assert "Home" not in article.text and "City Gazette" not in article.text


def test_date_only_from_markup_never_from_prose() -> None:
    page = BYLINE_PAGE.replace('<time datetime="2025-02-03">3 February 2025</time>', "").replace(
        "on Monday", "on 12 January 2021"
    )
    assert article_from_html(page).published_at is None


def test_no_title_falls_back_to_first_line() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    article = article_from_html(f"<html><body><div>{body}</div></body></html>")
    assert PARAGRAPHS[0].startswith(article.title.rstrip("…"))
    assert article.id == article_from_html(f"<html><body><div>{body}</div></body></html>").id
    assert article.id != article_from_html(f"<html><body><div>{body[::-1]}</div></body></html>").id


@pytest.mark.parametrize(
    ("html", "message"),
    [
        (
            """<html><head><title>Home | Herald</title></head><body><nav><a href="/">Home</a>
            <a href="/a">About</a></nav><main><h1>Latest news</h1><ul><li><a href="/x">Storm warning</a></li>
            </ul></main><footer>© 2025 Herald. All rights reserved.</footer></body></html>""",
            "no article text",
        ),
        (
            """<html><head><title>404</title></head><body><nav><a href="/">Home</a></nav><h1>Page not found</h1>
            <p>Sorry, this page does not exist.</p><footer>© 2025 Herald</footer></body></html>""",
            "too little article text",
        ),
        ("<html><head><title>Nothing</title></head><body></body></html>", "no article text"),
        ("https://harbourherald.example/economy/port-strike", "no article text"),
    ],
)
def test_pages_without_an_article_are_refused(html: str, message: str) -> None:
    with pytest.raises(ArticleFormatError, match=message):
        article_from_html(html)


def test_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access while reading HTML")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert article_from_html(NEWS_PAGE, url="https://harbourherald.example/x").title
    with pytest.raises(ArticleFormatError):  # a bare URL is text to parse, never fetched
        article_from_html(CANONICAL)


def test_html_file_id_is_stem(tmp_path: Path) -> None:
    path = tmp_path / "port-strike.htm"
    path.write_text(NEWS_PAGE, encoding="utf-8")
    (article,) = load_file(path)
    assert article.id == "port-strike"
    assert article.url == CANONICAL
    assert article == next(articles_from_bytes("port-strike.htm", NEWS_PAGE.encode("utf-8")))


def test_cp1252_page_with_meta_charset() -> None:
    text = (
        "Le préfet a annoncé mercredi la fermeture du pont « jusqu’à nouvel ordre », après la découverte "
        "de fissures. Les travaux coûteront 2,5 millions d’euros — un budget que la mairie juge « hors "
        "de portée » pour une commune de cette taille. Les élèves devront faire un détour de vingt minutes."
    )
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Le pont fermé</title></head><body><article><h1>Le pont fermé</h1>"
        f"<p>{text}</p><p>Les œuvres du musée voisin ont été mises à l’abri.</p></article></body></html>"
    )
    data = page.encode("cp1252")
    (article,) = articles_from_bytes("pont.html", data)
    assert article.title == "Le pont fermé"
    assert article.text == text + "\nLes œuvres du musée voisin ont été mises à l’abri."
    assert article.lang == "fr"


def test_latin1_declared_page_read_as_windows_1252() -> None:
    """Browsers read a page declared ISO-8859-1 as Windows-1252, where 0x80-0x9F are quotes and dashes."""
    text = "The minister called the plan “a half-measure” – and said the €2.5 million budget was far too small."
    page = f'<html><head><meta charset="iso-8859-1"></head><body><article><p>{text}</p></article></body></html>'
    (article,) = articles_from_bytes("plan.html", page.encode("cp1252"))
    assert article.text == text
