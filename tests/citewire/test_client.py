"""The client's requests and error mapping, against httpx.MockTransport (the real server: tests/e2e/test_client.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from citewire.client import AsyncCitewire, Citewire, CitewireError, retry_after
from citewire.schemas import Filters

Handler = Callable[[httpx.Request], httpx.Response]
SEARCH = {"hits": [], "timings_ms": {"retrieve": 1.0}}


def recording(seen: list[httpx.Request], reply: httpx.Response) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply

    return handle


def test_importing_the_client_loads_none_of_the_service() -> None:
    code = (
        "import sys, citewire.client\n"
        "heavy = {'torch', 'chromadb', 'llama_index', 'service', 'index'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_search_sends_only_what_was_given_with_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWIRE_API_KEY", "from-env")
    seen: list[httpx.Request] = []
    client = Citewire(
        "http://news.test/base/", transport=httpx.MockTransport(recording(seen, httpx.Response(200, json=SEARCH)))
    )
    found = client.search("Who won?", filters=Filters(source="cnn.com"))
    assert found.hits == [] and found.timings_ms == {"retrieve": 1.0}
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "http://news.test/base/v1/search")
    assert json.loads(request.content) == {"question": "Who won?", "filters": {"source": "cnn.com"}}
    assert request.headers["authorization"] == "Bearer from-env"


def test_no_key_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITEWIRE_API_KEY", raising=False)
    seen: list[httpx.Request] = []
    client = Citewire(transport=httpx.MockTransport(recording(seen, httpx.Response(200, json=SEARCH))))
    client.search("q", top_k=3, filters={"as_of": "2024-05-01"})
    assert "authorization" not in seen[0].headers
    assert json.loads(seen[0].content) == {"question": "q", "top_k": 3, "filters": {"as_of": "2024-05-01"}}


def test_a_passage_is_asked_for_by_query_parameters_with_the_id_quoted() -> None:
    seen: list[httpx.Request] = []
    client = Citewire(
        api_key="k", transport=httpx.MockTransport(recording(seen, httpx.Response(404, json={"detail": "x"})))
    )
    with pytest.raises(CitewireError):
        client.passage("a/b c", 5, 9, context=0)
    assert seen[0].url.raw_path == b"/v1/articles/a%2Fb%20c/passage?start=5&end=9&context=0"


MISSING = [{"type": "missing", "loc": ["body", "question"], "msg": "Field required"}]


@pytest.mark.parametrize(
    ("status", "reply", "detail", "wait"),
    [
        (404, {"json": {"detail": "no article with id 'x'"}}, "no article with id 'x'", None),
        (503, {"json": {"detail": "busy"}, "headers": {"Retry-After": "7"}}, "busy", 7.0),
        (429, {"json": {"detail": "slow down"}, "headers": {"Retry-After": "2"}}, "slow down", 2.0),
        (422, {"json": {"detail": MISSING}}, MISSING, None),
        (502, {"text": "Bad Gateway"}, "Bad Gateway", None),
    ],
)
def test_every_error_status_is_one_exception_with_the_detail(
    status: int, reply: dict[str, Any], detail: object, wait: float | None
) -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **reply)

    def check(error: CitewireError) -> None:
        assert (error.status_code, error.detail, error.retry_after) == (status, detail, wait)
        assert str(error).startswith(f"{status}: ")

    with pytest.raises(CitewireError) as sync_error:
        Citewire(transport=httpx.MockTransport(answer)).ask("q")
    check(sync_error.value)

    async def ask() -> None:
        async with AsyncCitewire(transport=httpx.MockTransport(answer)) as client:
            await client.ask("q")

    with pytest.raises(CitewireError) as async_error:
        asyncio.run(ask())
    check(async_error.value)


def test_the_async_client_sends_the_same_requests() -> None:
    seen: list[httpx.Request] = []
    reply = {"total": 0, "offset": 10, "limit": 5, "articles": []}

    async def list_page() -> int:
        transport = httpx.MockTransport(recording(seen, httpx.Response(200, json=reply)))
        async with AsyncCitewire("http://news.test", api_key="k", transport=transport) as client:
            return (await client.articles(offset=10, limit=5, source="bbc.co.uk")).offset

    assert asyncio.run(list_page()) == 10
    assert str(seen[0].url) == "http://news.test/v1/articles?offset=10&limit=5&source=bbc.co.uk"
    assert seen[0].headers["authorization"] == "Bearer k"


def test_an_injected_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(recording(seen, httpx.Response(200, json=SEARCH))))
    with Citewire("http://news.test", http_client=http) as client:
        client.search("q")
    assert len(seen) == 1 and not http.is_closed


def test_retry_after_reads_seconds_or_a_date() -> None:
    assert retry_after("3") == 3.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # long past
    assert retry_after("soon") is None and retry_after(None) is None
