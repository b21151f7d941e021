"""The tools' results as text a model or a person reads: the same facts as the structured result, spans included.

Many MCP clients hand a model only a tool's text, so each rendering keeps what a citation needs: the article id,
the offsets and the exact quote.
"""

from __future__ import annotations

from citewire.schemas import ArticleSummary, CheckResponse, CheckSpan, PassageOut, QueryResponse, SearchResponse


def answer(response: QueryResponse) -> str:
    lines = [response.answer]
    if response.citations:
        lines += ["", "Sources:"]
    for c in response.citations:
        lines.append(f"[{c.n}] {_titled(c.title, c.source, c.published_at, c.url)}")
        lines.append(f"    {c.article_id} [{c.start}:{c.end}] {_quoted(c.quote)}")
    return "\n".join(lines)


def search(response: SearchResponse) -> str:
    if not response.hits:
        return "No passage matches."
    lines: list[str] = []
    for h in response.hits:
        lines.append(f"{h.rank}. {_titled(h.title, h.source, h.published_at, h.url)} (score {h.score:.2f})")
        lines.append(f"   {h.article_id} [{h.start}:{h.end}] {_quoted(h.text)}")
    return "\n".join(lines)


def passage(p: PassageOut) -> str:
    return (
        f"{p.title}\n{p.article_id} [{p.start}:{p.end}] {_quoted(p.quote)}\n\n"
        f"In context ([{p.context_start}:{p.context_end}]):\n{p.context}"
    )


def check(response: CheckResponse) -> str:
    lines = [
        f"Grounding {response.score:.2f}: {response.supported} supported, {response.contradicted} contradicted, "
        f"{response.unmentioned} unmentioned."
    ]
    for claim in response.claims:
        lines.append(f"- {claim.label.upper()} [{claim.start}:{claim.end}] {_quoted(claim.text)}")
        lines += [_span("supported by", s) for s in claim.supporting]
        lines += [_span("contradicted by", s) for s in claim.contradicting]
    return "\n".join(lines)


def article_line(a: ArticleSummary) -> str:
    """A resource listing's description of an article: where and when it was published."""
    return ", ".join(x for x in (a.source, (a.published_at or "")[:10], f"{a.chunk_count} chunks") if x)


def _span(relation: str, s: CheckSpan) -> str:
    return f"    {relation} {s.article_id} [{s.start}:{s.end}] {_quoted(s.quote)} ({s.title})"


def _titled(title: str, source: str | None, published_at: str | None, url: str | None) -> str:
    about = ", ".join(x for x in (source, (published_at or "")[:10]) if x)
    return " ".join(x for x in (title, f"({about})" if about else "", url or "") if x)


def _quoted(text: str) -> str:
    """On one line (the structured result keeps the exact characters)."""
    return f'"{" ".join(text.split())}"'
