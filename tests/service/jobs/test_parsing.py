"""The parse pool: uploads parsed in worker processes as they are parsed inline, and a file that takes
too long killed with its worker, without harming files parsed beside it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from index.articles import Article
from index.loaders import ArticleFormatError, articles_from_bytes
from service.jobs.parsing import ParsePool, ParseTimeoutError
from tests.conftest import SEED_PATH
from tests.index.test_html import NEWS_PAGE

STORY = (
    "The city council approved a new tram line on Monday. The line will connect the harbour with the "
    "university and open in 2027, the mayor said. Construction starts in spring."
)
# A 2 MB page of table rows: trafilatura needs over ten seconds for it on this machine.
SLOW_PAGE = b"<html><body><table>" + b"<tr><td>cell text words</td></tr>" * 60_000 + b"</table></body></html>"
HEAVY = ("torch", "transformers", "sentence_transformers", "chromadb", "llama_index", "fastapi", "starlette")


@pytest.fixture(scope="module")
def warm() -> Iterator[ParsePool]:
    """A pool the tests that kill no worker share (each new pool costs a worker start, a second or two)."""
    pool = ParsePool()
    yield pool
    pool.close()


@pytest.fixture
def pool() -> Iterator[ParsePool]:
    pool = ParsePool()
    yield pool
    pool.close()


def _parse(pool: ParsePool, name: str, data: bytes, timeout_s: float = 30.0, **kw: Any) -> list[Article]:
    return asyncio.run(pool.parse(name, data, timeout_s=timeout_s, **kw))


def _in_worker(pool: ParsePool, expression: str) -> Any:
    """Evaluate an expression in one of the pool's workers (``eval`` pickles by name: nothing else is imported)."""
    assert pool._pool is not None
    return pool._pool.executor.submit(eval, expression).result(timeout=30)


def test_the_pool_gives_the_articles_parsing_inline_gives(warm: ParsePool) -> None:
    files = {
        "seed.txt": SEED_PATH.read_bytes(),
        "notes.md": f"# Harbour news\n\n{STORY}".encode(),
        "strike.html": NEWS_PAGE.encode("utf-8"),
        "feed.jsonl": "\n".join(json.dumps({"id": f"s{i}", "text": f"{STORY} Number {i}."}) for i in range(4)).encode(),
    }
    for name, data in files.items():
        assert _parse(warm, name, data) == list(articles_from_bytes(name, data)), name
    assert [a.id for a in _parse(warm, "feed.jsonl", files["feed.jsonl"], max_articles=1)] == ["s0", "s1"]


def test_format_errors_come_back_as_they_are(warm: ParsePool) -> None:
    with pytest.raises(ArticleFormatError, match=r"^broken\.jsonl:2: "):
        _parse(warm, "broken.jsonl", b'{"text": "fine text, long enough"}\n{not json')
    with pytest.raises(ArticleFormatError, match=r"^scan\.pdf: unsupported file type"):
        _parse(warm, "scan.pdf", b"%PDF-1.7")


def test_workers_import_the_parsers_and_nothing_heavy(warm: ParsePool) -> None:
    _parse(warm, "notes.md", f"# Title\n\n{STORY}".encode())
    modules = set(_in_worker(warm, "sorted(__import__('sys').modules)"))
    assert "index.loaders" in modules and "trafilatura" in modules
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)
    assert not any(m.startswith(("service.http", "service.components", "index.embedding")) for m in modules)


def test_a_new_workers_start_is_not_counted_in_the_limit(pool: ParsePool) -> None:
    """Starting a worker (a Python, its imports and a warm-up parse) takes longer than this limit."""
    started = time.monotonic()
    (article,) = _parse(pool, "notes.md", f"# Title\n\n{STORY}".encode(), timeout_s=0.2)
    assert time.monotonic() - started > 0.2 and article.title == "Title"


def test_a_file_over_the_limit_is_stopped_its_worker_killed_and_others_tried_again(pool: ParsePool) -> None:
    _parse(pool, "warm.md", f"# Title\n\n{STORY}".encode())  # one warm worker, which the slow page goes to
    assert pool._pool is not None
    old_pool, workers = pool._pool, list(pool._pool.executor._processes.values())

    async def timed_slow() -> float:
        started = time.monotonic()
        with pytest.raises(ParseTimeoutError, match=r"^slow\.html: parsing took longer than the limit of 0\.5 s"):
            await pool.parse("slow.html", SLOW_PAGE, timeout_s=0.5)
        return time.monotonic() - started

    async def both() -> list[Any]:
        normal = pool.parse("notes.md", f"# Beside it\n\n{STORY}".encode(), timeout_s=30)
        return list(await asyncio.gather(timed_slow(), normal))

    seconds, normal = asyncio.run(both())
    assert seconds < 5  # the page alone takes over ten seconds
    assert [a.title for a in normal] == ["Beside it"]  # done before the kill, or (likelier) again on the new pool
    deadline = time.monotonic() + 5
    while any(p.is_alive() for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(p.is_alive() for p in workers)
    assert pool._pool is not old_pool
    assert [a.title for a in _parse(pool, "after.md", f"# After\n\n{STORY}".encode())] == ["After"]


def test_a_file_whose_worker_dies_is_tried_again(pool: ParsePool) -> None:
    """A worker that dies for another reason (here: killed from outside) costs a retry, not the file."""
    _parse(pool, "warm.md", f"# Title\n\n{STORY}".encode())
    assert pool._pool is not None
    (pid,) = pool._pool.executor._processes
    medium = SLOW_PAGE[: len(SLOW_PAGE) // 20] + b"</table></body></html>"  # a second or so

    async def kill_it_while_parsing() -> list[Article]:
        parse = asyncio.ensure_future(pool.parse("medium.html", medium, timeout_s=60))
        while not any(p.started_at(task) for task, (p, _) in list(pool._running.items())):
            await asyncio.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        return await parse

    assert asyncio.run(kill_it_while_parsing()) == list(articles_from_bytes("medium.html", medium))
