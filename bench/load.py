"""Query latency over HTTP under 1, 4 and 16 concurrent clients at 10k and 100k chunks, and memory.

A real ``citewire serve`` (uvicorn, the default embedder and LLM) over a store holding the seed
article plus synthetic chunks (bench.scale's generator: real news words, random unit vectors), driven
by N client threads at once:

- retrieval only: ``POST /v1/search``, the passages an answer would use, without the model;
- full answers: ``POST /v1/query`` about the seed article. The local model writes one answer at a
  time, so answers queue and their latency grows with the clients; the queue is made deep enough
  that none is turned away here (503s and other failures are counted anyway).

The ratios compare each row with one client on the same store, and 100k with 10k chunks. The
server's memory is read from /proc (resident now, and its peak) after each phase.

    python -m bench.load                                  # 10k and 100k chunks, 1/4/16 clients
    python -m bench.load --sizes 10000 --answers-per-client 1
    python -m bench.load --store /tmp/citewire-load       # keep the store: a re-run skips writing it
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from bench.common import (
    command_line,
    format_table,
    machine_info,
    measure,
    print_header,
    settings_with,
    summarize,
    write_results,
)
from bench.query import QUESTIONS, load_seeds
from bench.scale import QUERIES, synthetic_articles
from tests.e2e.servers import citewire, free_port, running

ANSWERABLE = [q.text for q in QUESTIONS if q.answerable]
SEARCHES = [*ANSWERABLE, *QUERIES]
SEARCHES_PER_CLIENT = 40
SERVER_ENV = {
    "CITEWIRE_MAX_QUEUED_REQUESTS": "64",  # every client waits its turn: latency, not rejections
    "CITEWIRE_REQUEST_TIMEOUT_S": "1800",
}


def _fill(data_dir: str, size: int) -> None:
    """Bring the store to ``size`` chunks: the seed once, then synthetic articles (a child process:
    an embedded Chroma belongs to one process, and the server opens it next)."""
    from index.ingest import ingest_articles
    from service.components import build_components

    components = build_components(settings_with(Path(data_dir)))
    store = components.store
    if store.count_articles() == 0:
        ingest_articles(load_seeds(), store, components.embedder, components.chunking)
    have = store.count_chunks()
    if have < size:
        rng = np.random.default_rng(have)
        first = store.count_articles()  # the next synthetic id: ids never repeat, so nothing is replaced
        items = synthetic_articles(size - have, first, components.embedder.dim, rng)
        for article, chunks, vectors in tqdm(items, desc=f"write to {size:,} chunks", unit="article"):
            store.write(article, chunks, vectors.tolist())
    store.flush()


def _memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[{"VmRSS": "rss_mb", "VmHWM": "peak_mb"}[key]] = round(int(value.split()[0]) / 1024, 1)
    return found


def _drive(base: str, path: str, bodies: list[dict[str, Any]], clients: int, timeout: float) -> dict[str, Any]:
    """Send ``bodies`` from ``clients`` threads at once (each takes the next body when free)."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    pending = iter(bodies)

    def client() -> None:
        with httpx.Client(base_url=base, timeout=timeout) as http:
            while True:
                with lock:
                    body = next(pending, None)
                if body is None:
                    return
                started = time.perf_counter()
                try:
                    status = str(http.post(path, json=body).status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    statuses[status] += 1
                    if status == "200":
                        latencies.append(elapsed)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return {"latency_ms": summarize(latencies), "statuses": dict(statuses)}


def _phase(base: str, pid: int, kind: str, clients: int, per_client: int) -> dict[str, Any]:
    questions = SEARCHES if kind == "search" else ANSWERABLE
    bodies = [{"question": questions[i % len(questions)]} for i in range(clients * per_client)]
    path = "/v1/search" if kind == "search" else "/v1/query"
    with measure([pid]) as m:
        result = _drive(base, path, bodies, clients, timeout=1800)
    ok = result["statuses"].get("200", 0)
    return {
        **result,
        "clients": clients,
        "requests": len(bodies),
        "per_second": round(ok / m.wall_s, 2) if m.wall_s else 0.0,
        "wall_s": round(m.wall_s, 1),
        "others_cores": None if m.others_cores is None else round(m.others_cores, 2),
        "memory": _memory_mb(pid),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated (default 10000,100000)")
    parser.add_argument("--clients", default="1,4,16", help="concurrent clients, comma-separated (default 1,4,16)")
    parser.add_argument("--answers-per-client", type=int, default=2, help="full answers each client asks (default 2)")
    parser.add_argument("--store", type=Path, help="data dir to build the store in and keep (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(","))
    client_counts = sorted(int(x) for x in args.clients.split(","))
    command = command_line("bench.load")
    machine = machine_info()
    print_header("query latency over HTTP under concurrent clients (real server, default models)", command, machine)
    spawn = multiprocessing.get_context("spawn")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="citewire-load-") as tmp:
        data_dir = args.store or Path(tmp) / "data"
        for size in sizes:
            filler = spawn.Process(target=_fill, args=(str(data_dir), size))
            filler.start()
            filler.join()
            if filler.exitcode != 0:
                raise SystemExit(f"building the {size:,}-chunk store failed ({filler.exitcode})")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            serve = citewire("serve", "--data-dir", str(data_dir), "--port", str(port))
            with running(serve, f"{base}/readyz", data_dir / f"load-{size}.log", env=SERVER_ENV) as proc:
                chunks = httpx.get(f"{base}/healthz", timeout=10).json()["chunks"]
                idle = _memory_mb(proc.pid)
                httpx.post(f"{base}/v1/query", json={"question": ANSWERABLE[0]}, timeout=600)  # warm-up
                for kind, per_client in (("search", SEARCHES_PER_CLIENT), ("answer", args.answers_per_client)):
                    for clients in client_counts:
                        row = _phase(base, proc.pid, kind, clients, per_client)
                        row.update(kind=kind, chunks=chunks, idle_memory=idle)
                        results.append(row)
                        print(
                            f"{chunks:,} chunks, {kind}, {clients} clients: p50 {row['latency_ms']['p50']:,.0f} ms, "
                            f"p95 {row['latency_ms']['p95']:,.0f} ms, {row['statuses']}, others {row['others_cores']}"
                        )
    print()
    print(_table(results))
    path = write_results("load", command, machine, {"results": results})
    print(f"\nresults : {path}")
    return 0


def _table(results: list[dict[str, Any]]) -> str:
    """One row per store size, kind and client count; ratios against one client and the smallest store."""
    one_client = {(r["chunks"], r["kind"]): r["latency_ms"]["p50"] for r in results if r["clients"] == 1}
    smallest = min(r["chunks"] for r in results)
    base_size = {(r["kind"], r["clients"]): r["latency_ms"]["p50"] for r in results if r["chunks"] == smallest}
    rows = []
    for r in results:
        p50 = r["latency_ms"]["p50"]
        ref1 = one_client.get((r["chunks"], r["kind"]))
        ref_size = base_size.get((r["kind"], r["clients"]))
        failed = sum(n for status, n in r["statuses"].items() if status != "200")
        rows.append(
            [
                f"{r['chunks']:,} chunks, {r['kind']}, {r['clients']} clients",
                p50,
                r["latency_ms"]["p95"],
                f"x{p50 / ref1:.2f}" if ref1 else None,
                f"x{p50 / ref_size:.2f}" if ref_size else None,
                r["per_second"],
                failed,
                r["memory"].get("rss_mb"),
                r["memory"].get("peak_mb"),
                r["others_cores"],
            ]
        )
    headers = ["store, kind, clients", "p50 ms", "p95 ms", "vs 1 client", "vs smallest", "ok/s", "failed"]
    return format_table([*headers, "RSS MB", "peak MB", "others"], rows)


if __name__ == "__main__":
    raise SystemExit(main())
