"""Start real server processes on free loopback ports for end-to-end tests, and stop them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    args: Sequence[str], ready_url: str, log_path: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` until the block ends; wait until ``ready_url`` answers 200 first."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def citewire(*args: str) -> list[str]:
    """The command line that runs the installed CLI from this interpreter's environment."""
    return [sys.executable, "-m", "service.cli", *args]


@contextmanager
def seeded_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``citewire ingest seeds/`` into ``data_dir``, then ``citewire serve`` on a free port; yields its URL."""
    seeds = Path(__file__).resolve().parents[2] / "seeds"
    ingest = subprocess.run(
        citewire("ingest", str(seeds), "--data-dir", str(data_dir), "--quiet"),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert ingest.returncode == 0, ingest.stderr
    assert "1 created" in ingest.stdout
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = citewire("serve", "--data-dir", str(data_dir), "--port", str(port))
    with running(args, f"{base}/healthz", data_dir / "server.log", env=env):
        yield base


def write_headers(data_dir: Path) -> dict[str, str]:
    """The ``Authorization`` header writes need: the key ``citewire serve`` generated into ``data_dir``."""
    return {"Authorization": f"Bearer {(data_dir / 'api_key').read_text(encoding='utf-8').strip()}"}
