"""Chroma clients: an embedded store on disk for one process, or a Chroma server shared by many."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import chromadb
from chromadb.config import Settings as ChromaSettings

from index.errors import SetupError


def open_client(chroma_dir: Path) -> chromadb.api.ClientAPI:
    """An embedded Chroma client on disk, telemetry off (this machine has no network anyway)."""
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False))


def open_http_client(url: str) -> chromadb.api.ClientAPI:
    """A client of a Chroma server (``chroma run``) at ``http(s)://host[:port]``, shared by every process.

    An embedded store is one process's: another process's writes reach its SQLite rows but not its
    in-memory vector index, so several workers or machines need the server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise SetupError(f"CITEWIRE_CHROMA_URL must look like http://host:port, not {url!r}")
    ssl = parts.scheme == "https"
    try:
        return chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if ssl else 80),
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except ValueError as exc:  # what chromadb raises when nothing answers there
        raise SetupError(f"no Chroma server answers at {url} (CITEWIRE_CHROMA_URL): {exc}") from exc
