"""Citation lookup: the window of article text shown around a cited span."""

from __future__ import annotations


def passage_window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """Offsets of about ``context`` characters either side of [start, end), widened to whole words
    and cut at paragraph breaks so the reader sees the passage, not a neighbouring section."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    paragraph_start = text.rfind("\n\n", lo, start)
    if paragraph_start != -1:
        lo = paragraph_start + 2
    elif lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else start
    paragraph_end = text.find("\n\n", end, hi)
    if paragraph_end != -1:
        hi = paragraph_end
    elif hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else end
    return lo, hi
