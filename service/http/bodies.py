"""JSON bodies must be text Citewire can store and send back: lone surrogates are refused up front.

JSON can escape a lone surrogate (``"\\ud800"``); Python decodes it into a ``str`` that no UTF-8
output can hold, so it would fail much later (in Chroma, a log line, a response) as a 500 or a failed
job. Checking every JSON body once, before validation, covers every field of every route, free-form
ones included (evaluation records, extra OpenAI fields), with a 422 that names the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

# A surrogate escape anywhere in the raw body (paired ones too; those are then checked properly).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_at(value: Any, loc: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where the first string holding a lone surrogate is (keys count too), or None."""
    if isinstance(value, str):
        return loc if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            shown = key.encode("utf-8", "backslashreplace").decode("utf-8")  # a location the response can hold
            found = lone_surrogate_at(key, (*loc, shown)) or lone_surrogate_at(item, (*loc, shown))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = lone_surrogate_at(item, (*loc, i))
            if found is not None:
                return found
    return None


class UnicodeCheckedRoute(APIRoute):
    """An APIRoute that answers 422 for a JSON body with a lone surrogate in any string."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            if request.headers.get("content-type", "").startswith("application/json"):
                body = await request.body()  # cached on the request: the handler reads it again for free
                if _SURROGATE_ESCAPE.search(body):
                    _refuse_lone_surrogates(body)
            return await handler(request)

        return checked


def _refuse_lone_surrogates(body: bytes) -> None:
    try:
        data = json.loads(body)
    except ValueError:
        return  # not JSON: FastAPI's own validation reports it
    where = lone_surrogate_at(data)
    if where is not None:
        msg = "not valid Unicode text: a lone surrogate (an unpaired \\ud800-\\udfff escape)"
        raise RequestValidationError([{"type": "string_unicode", "loc": ("body", *where), "msg": msg}])
