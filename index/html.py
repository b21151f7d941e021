"""Read a saved news web page: its metadata and the article body, without navigation, ads, comments or footers.

trafilatura does the extraction. It is only ever given a string: its fetch functions are never called,
so reading a page never touches the network.
"""

from __future__ import annotations

import re

from trafilatura import bare_extraction
from trafilatura.settings import Document

from index.articles import Article, ArticleFormatError, derive_article_id, title_from_text
from index.language import detect_language
from index.parsing import publication_date, strip_boilerplate_tail

# trafilatura drops "ad-…" classes but can keep a plain class="ad" or "advertisement" block inside
# the article: such blocks are pruned before extraction.
_AD_TOKENS = ("ad", "ads", "advert", "advertisement", "adsbygoogle", "sponsored")
_PRUNE_ADS = [
    *(f"//*[contains(concat(' ', normalize-space(@class), ' '), ' {token} ')]" for token in _AD_TOKENS),
    *(f"//*[@id='{token}']" for token in _AD_TOKENS),
]
# Only dates the page states in its markup or URL: htmldate's text search takes any date in the body
# ("the 2021 agreement") for the publication date.
_DATE_PARAMS = {"original_date": True, "extensive_search": False, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
# A page whose main text has fewer words is a site message (404, consent wall, section front), not an article.
_MIN_WORDS = 10
# trafilatura writes tables as Markdown; the "|---|---|" rule under the header row carries no text.
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+$")
# lxml refuses a str that still carries an XML encoding declaration; the text is already decoded.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def article_from_html(html: str, *, article_id: str | None = None, url: str | None = None) -> Article:
    """Build an article from a web page's HTML; raises ArticleFormatError when it holds no article text."""
    document = bare_extraction(
        _XML_DECLARATION.sub("", html, count=1),
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,  # balanced mode falls back to the whole page, nav links included, when little is found
        include_images=False,
        include_links=False,
        include_formatting=False,
        prune_xpath=_PRUNE_ADS,
        date_extraction_params=_DATE_PARAMS,
    )
    if not isinstance(document, Document):  # None: trafilatura found no main text
        raise ArticleFormatError("no article text found in the HTML page")
    title = (document.title or "").strip()
    body = _body(document.text or "", title)
    if not body:
        raise ArticleFormatError("no article text found in the HTML page")
    if len(body.split()) < _MIN_WORDS:
        raise ArticleFormatError(f"too little article text in the HTML page ({body[:80]!r})")
    title = title or title_from_text(body)
    page_url = url or document.url or None
    return Article(
        id=derive_article_id(explicit=article_id, url=page_url, fallback_key=title),
        title=title,
        text=body,
        source=document.sitename or None,
        url=page_url,
        published_at=publication_date(document.date, page_url),
        author=document.author or None,
        lang=detect_language(body),
    )


def _body(text: str, title: str) -> str:
    """One paragraph a line, without the headline trafilatura repeats as the first line."""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line and not _TABLE_RULE.match(line)]
    if lines and title and lines[0].casefold() == " ".join(title.split()).casefold():
        lines = lines[1:]
    return strip_boilerplate_tail("\n".join(lines)).strip()
