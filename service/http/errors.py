"""Every error a client sees is JSON with a ``detail``: validation problems without echoed input, no tracebacks."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default echoes the input back, which fails to render for NaN or a lone
    # surrogate and turns a client error into a 500; the location and message are enough.
    errors = [{"type": e["type"], "loc": [str(x) for x in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": errors})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Never leak a traceback to a client; the server log has it.
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
