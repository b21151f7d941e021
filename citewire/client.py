"""A Python client for a Citewire server: ``Citewire`` (blocking) and ``AsyncCitewire``, over httpx.

Every endpoint is written once, as a builder that turns the method's arguments into a ``_Call`` (the
request, and the wire model its answer parses into); the two clients differ only in how they send it.
Any answer but 2xx raises ``CitewireError`` with the server's status and JSON ``detail``.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from citewire.schemas import (
    ArticleDetail,
    ArticleList,
    CheckResponse,
    Filters,
    PassageOut,
    QueryResponse,
    SearchResponse,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
API_KEY_ENV = "CITEWIRE_API_KEY"
# Above the server's own request limit (CITEWIRE_REQUEST_TIMEOUT_S, 180 s by default): a slow answer
# ends in the server's 504 with a detail rather than in a client-side timeout.
DEFAULT_TIMEOUT_S = 200.0

FiltersIn = Filters | Mapping[str, Any] | None
M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)
T = TypeVar("T", httpx.BaseTransport, httpx.AsyncBaseTransport)


class CitewireError(Exception):
    """The server answered with an error: its status, its ``detail`` (a message, or for a 422 from
    validation a list of ``{type, loc, msg}``), and the seconds ``Retry-After`` asks to wait (429, 503)."""

    def __init__(self, status_code: int, detail: Any, retry_after: float | None = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> CitewireError:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body["detail"] if isinstance(body, dict) and "detail" in body else response.text
        return cls(response.status_code, detail, retry_after(response.headers.get("retry-after")))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class _Call(Generic[M]):
    """One request, and the model a successful answer parses into."""

    method: str
    path: str
    model: type[M]
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None

    def parse(self, response: httpx.Response) -> M:
        if not response.is_success:
            raise CitewireError.from_response(response)
        return self.model.model_validate_json(response.content)


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that were given: the server fills in its defaults (top_k, ...) for the rest."""
    return {k: v for k, v in fields.items() if v is not None}


def _filters(filters: FiltersIn) -> dict[str, Any] | None:
    if isinstance(filters, Filters):
        return filters.model_dump(exclude_none=True)
    return dict(filters) if filters is not None else None


def _article_path(article_id: str) -> str:
    return f"/v1/articles/{quote(article_id, safe='')}"


class _Calls:
    """The endpoints, one builder each; their signatures and docstrings are the clients' methods'."""

    @staticmethod
    def ask(
        question: str,
        *,
        top_k: int | None = None,
        filters: FiltersIn = None,
        choices: Sequence[str] | None = None,
    ) -> _Call[QueryResponse]:
        """Answer ``question`` from the indexed articles, each claim cited down to its span (POST /v1/query).

        ``choices``: the options of a multiple-choice question (2 to 10)."""
        body = _present(
            question=question,
            top_k=top_k,
            filters=_filters(filters),
            choices=list(choices) if choices is not None else None,
        )
        return _Call("POST", "/v1/query", QueryResponse, json=body)

    @staticmethod
    def search(question: str, *, top_k: int | None = None, filters: FiltersIn = None) -> _Call[SearchResponse]:
        """The passages an answer would be drawn from, best first, without the model (POST /v1/search)."""
        body = _present(question=question, top_k=top_k, filters=_filters(filters))
        return _Call("POST", "/v1/search", SearchResponse, json=body)

    @staticmethod
    def check(text: str, *, filters: FiltersIn = None) -> _Call[CheckResponse]:
        """Each sentence of ``text`` as a claim: supported, contradicted or unmentioned by the articles,
        with the sentences that say so (POST /v1/check)."""
        return _Call("POST", "/v1/check", CheckResponse, json=_present(text=text, filters=_filters(filters)))

    @staticmethod
    def passage(article_id: str, start: int, end: int, context: int = 300) -> _Call[PassageOut]:
        """The span ``[start, end)`` of an article (a citation's offsets), with ``context`` characters around it."""
        params = {"start": start, "end": end, "context": context}
        return _Call("GET", f"{_article_path(article_id)}/passage", PassageOut, params=params)

    @staticmethod
    def articles(
        *,
        offset: int = 0,
        limit: int = 100,
        source: str | None = None,
        published_after: str | None = None,
        published_before: str | None = None,
    ) -> _Call[ArticleList]:
        """A page of the indexed articles, newest first; dates are YYYY-MM-DD, inclusive (GET /v1/articles)."""
        params = _present(
            offset=offset,
            limit=limit,
            source=source,
            published_after=published_after,
            published_before=published_before,
        )
        return _Call("GET", "/v1/articles", ArticleList, params=params)

    @staticmethod
    def article(article_id: str) -> _Call[ArticleDetail]:
        """One article with its whole text: the text citation offsets point into (GET /v1/articles/{id})."""
        return _Call("GET", _article_path(article_id), ArticleDetail)


class _Sends(Protocol):
    def _send(self, call: _Call[M]) -> M: ...


class _SendsAsync(Protocol):
    async def _send(self, call: _Call[M]) -> M: ...


def _blocking(build: Callable[P, _Call[M]]) -> Callable[Concatenate[_Sends, P], M]:
    def method(self: _Sends, /, *args: P.args, **kwargs: P.kwargs) -> M:
        return self._send(build(*args, **kwargs))

    return _named(method, build, "Citewire")


def _awaitable(build: Callable[P, _Call[M]]) -> Callable[Concatenate[_SendsAsync, P], Awaitable[M]]:
    async def method(self: _SendsAsync, /, *args: P.args, **kwargs: P.kwargs) -> M:
        return await self._send(build(*args, **kwargs))

    return _named(method, build, "AsyncCitewire")


F = TypeVar("F", bound=Callable[..., Any])


def _named(method: F, build: Callable[..., Any], owner: str) -> F:
    """Give ``method`` the builder's name, docstring and signature (with ``self``), for help() and IDEs."""
    signature = inspect.signature(build)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__name__, method.__qualname__, method.__doc__ = build.__name__, f"{owner}.{build.__name__}", build.__doc__
    returns = str(signature.return_annotation).removeprefix("_Call[").removesuffix("]")  # the model, not the call
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_param, *signature.parameters.values()], return_annotation=returns
    )
    return method


class _Client(Generic[H, T]):
    """What both clients share: where the server is, the key, the httpx client, and the request each call
    becomes. ``api_key`` (default: $CITEWIRE_API_KEY) is sent as ``Authorization: Bearer``; reads need it
    only on a server with CITEWIRE_PROTECT_READS. Pass ``transport`` or a whole ``http_client`` to route
    requests elsewhere (tests); a client passed in is not closed here."""

    _http_class: type[H]

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        *,
        transport: T | None = None,
        http_client: H | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV) or None
        self.timeout = timeout
        self._owned = http_client is None
        # Each subclass pairs H with its T; mypy also tries the mixed pairs, hence the ignore.
        self._http: H = http_client or self._http_class(transport=transport)  # type: ignore[arg-type]

    def _request(self, call: _Call[Any]) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return self._http.build_request(
            call.method,
            self.base_url + call.path,
            json=call.json,
            params=call.params,
            headers=headers,
            timeout=self.timeout,
        )


class Citewire(_Client[httpx.Client, httpx.BaseTransport]):
    """A blocking client of a Citewire server."""

    _http_class = httpx.Client

    def _send(self, call: _Call[M]) -> M:
        return call.parse(self._http.send(self._request(call)))

    ask = _blocking(_Calls.ask)
    search = _blocking(_Calls.search)
    check = _blocking(_Calls.check)
    passage = _blocking(_Calls.passage)
    articles = _blocking(_Calls.articles)
    article = _blocking(_Calls.article)

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncCitewire(_Client[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The same client for asyncio: every method is awaited."""

    _http_class = httpx.AsyncClient

    async def _send(self, call: _Call[M]) -> M:
        return call.parse(await self._http.send(self._request(call)))

    ask = _awaitable(_Calls.ask)
    search = _awaitable(_Calls.search)
    check = _awaitable(_Calls.check)
    passage = _awaitable(_Calls.passage)
    articles = _awaitable(_Calls.articles)
    article = _awaitable(_Calls.article)

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
