"""Server-Sent Events as a client reads them, for the tests of the streamed routes."""

from __future__ import annotations

import re


def sse_events(content: bytes | str) -> list[dict[str, str]]:
    """Events as {field: value}; comments (``: ...``) are skipped, data lines joined."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        event: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[name] = f"{event[name]}\n{value}" if name in event else value
        if event:
            events.append(event)
    return events
