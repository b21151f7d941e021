"""Access control, checked from the request line and headers before any body is read.

Writes are closed by default: without ``CITEWIRE_API_KEY`` the server uses a key it generated into
``<data_dir>/api_key`` (0600) at first start. ``GuardedRoute`` checks before FastAPI reads a body, so an
unauthenticated 25 MB upload costs a 401, not a parse; and a write sent by a web page (it carries
``Origin``) must come from the server's own origin (or ``CITEWIRE_ALLOWED_ORIGINS``) through a host
name it is known by, so no page a user visits can write through their browser (a form POST needs no
CORS preflight) or through a DNS-rebound name.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, Response
from pydantic import SecretStr

from service.http.bodies import UnicodeCheckedRoute
from service.http.schemas import problems
from service.http.state import require_reader, require_writer
from service.settings import MIN_KEY_CHARS, Settings

log = logging.getLogger("citewire")
KEY_FILE = "api_key"


def key_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def api_key_for(settings: Settings) -> SecretStr:
    """The key writes need: ``CITEWIRE_API_KEY``, else the one kept in the data dir (made on first use)."""
    if settings.api_key is not None:
        return settings.api_key
    return SecretStr(read_or_create_key(key_path(settings)))


def read_or_create_key(path: Path) -> str:
    """The key in ``path``; a new random one written there first (0600) if there is none.

    Created beside and hard-linked into place, so processes starting at once agree on one key and
    none reads a half-written file."""
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(tmp, path)
        log.warning("citewire: generated an API key for writes in %s", path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        tmp.unlink()
    return _read_key(path)


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"{path} holds no usable API key (fewer than {MIN_KEY_CHARS} characters): remove it")
    if path.stat().st_mode & 0o077:
        log.warning("citewire: %s can be read by other users: chmod 600 it", path)
    return key


def has_key(authorization: str, key: SecretStr) -> bool:
    """Whether an ``Authorization`` header carries the key (compared in constant time)."""
    scheme, _, given = authorization.partition(" ")
    expected = key.get_secret_value().encode("utf-8")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8"), expected)


def foreign_origin(headers: dict[str, str], scheme: str, settings: Settings) -> str | None:
    """Why a browser's write is refused, or None: a cross-site page, another origin, an unknown host name."""
    allowed = {o.rstrip("/").lower() for o in settings.allowed_origins}
    origin = headers.get("origin")
    host = headers.get("host", "")
    own = f"{scheme}://{host}".lower()
    if origin is None:
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site in ("cross-site", "same-site"):
            return f"a {fetch_site} request may not write"
        return None  # not a browser's cross-origin request (curl, clients, same-origin GET-less forms)
    origin = origin.rstrip("/").lower()
    if origin != own and origin not in allowed:
        return f"origin {origin!r} may not write (allowed: this server's own, CITEWIRE_ALLOWED_ORIGINS)"
    if origin == own and not _known_host(urlsplit(own).hostname or "", settings):
        return f"host name {host!r} is not one this server is known by (CITEWIRE_ALLOWED_HOSTS)"
    return None


def _known_host(name: str, settings: Settings) -> bool:
    """An IP address (no DNS to rebind), a name in CITEWIRE_ALLOWED_HOSTS, or the listening host."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name.strip("[]"))
        return True
    return name in {h.lower() for h in settings.allowed_hosts} or name == settings.host.lower()


class GuardedRoute(UnicodeCheckedRoute):
    """A route that checks the key (and, for writes, the origin) before its body is read or parsed.

    Which check is declared by the router dependency: ``require_writer`` (writes) or ``require_reader``
    (reads, checked only with ``CITEWIRE_PROTECT_READS``). FastAPI reads the body before it runs any
    dependency, so the check is made here, in the route's handler, ahead of FastAPI's own."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Declares what the checks and the rate limit add: 403 on writes, 429 on the API."""
        calls = {d.dependency for d in kwargs.get("dependencies") or []}
        # Set before APIRoute.__init__, which builds the handler (get_route_handler) from it.
        self.guard = "write" if require_writer in calls else "read" if require_reader in calls else None
        added = ((403,) if self.guard == "write" else ()) + ((429,) if path.startswith("/v1/") else ())
        kwargs["responses"] = {**problems(*added), **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        kind = self.guard
        if kind is None:
            return handler

        async def guarded(request: Request) -> Response:
            state = request.app.state.citewire
            if kind == "write" or state.settings.protect_reads:
                check_access(request, state.settings, state.api_key, write=kind == "write")
            return await handler(request)

        return guarded


def check_access(request: Request, settings: Settings, key: SecretStr, write: bool) -> None:
    """403 for a write a web page of another origin sends; 401 without the key."""
    if write:
        reason = foreign_origin(dict(request.headers), request.url.scheme, settings)
        if reason is not None:
            raise HTTPException(status_code=403, detail=reason)
    if not has_key(request.headers.get("authorization", ""), key):
        raise HTTPException(
            status_code=401,
            detail="this endpoint needs the API key: 'Authorization: Bearer <key>' (`citewire key` prints it)",
            headers={"WWW-Authenticate": "Bearer"},
        )
