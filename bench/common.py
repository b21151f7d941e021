"""What both benchmarks share: machine facts, percentiles, a plain-text table and the results file.

Numbers are only comparable across runs when the machine, the load and the exact command are
recorded next to them, so every benchmark prints and saves all three.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"
CONTENDED_CORES = 0.2  # other processes using more than this, on average, make a timing suspect
# CPU times tick at 10 ms: below this wall time a tick or two would read as a busy core.
MIN_WALL_FOR_OTHERS_S = 0.5


@dataclass
class Measurement:
    """Wall time of a block, plus how busy the rest of the machine was meanwhile.

    On a shared 2-core machine another process's test run can halve a throughput figure, so each
    timing carries its own evidence: ``others_cores`` is the average number of cores used by other
    processes (from /proc/stat minus this process's CPU time); about 0 means the number is clean.
    """

    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process, all threads
    others_cores: float | None = None  # None without /proc/stat, or for blocks too short to tell

    @property
    def contended(self) -> bool:
        return self.others_cores is not None and self.others_cores > CONTENDED_CORES


def _self_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _machine_busy_s() -> float | None:
    """CPU seconds spent busy by all cores since boot (user+nice+system+irq+softirq+steal)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (0 once it is gone or without /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _our_cpu_s(pids: Sequence[int]) -> float:
    return _self_cpu_s() + sum(_process_cpu_s(pid) for pid in pids)


@contextmanager
def measure(pids: Sequence[int] = ()) -> Iterator[Measurement]:
    """Time a block; the yielded Measurement is filled in when the block ends.

    ``pids``: processes working for the benchmark (a server it drives); their CPU counts as its own."""
    m = Measurement()
    busy0, cpu0, t0 = _machine_busy_s(), _our_cpu_s(pids), time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = time.perf_counter() - t0
        m.cpu_s = _our_cpu_s(pids) - cpu0
        busy1 = _machine_busy_s()
        if busy0 is not None and busy1 is not None and m.wall_s >= MIN_WALL_FOR_OTHERS_S:
            m.others_cores = max(0.0, (busy1 - busy0 - m.cpu_s) / m.wall_s)


def cpu_model() -> str:
    """The first "model name" line of /proc/cpuinfo (Linux); the platform's guess elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the same cores skews every number here."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info() -> dict[str, Any]:
    """The facts a reader needs to compare numbers across machines and runs."""
    import torch  # imported here: the caller may have set thread counts first

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
    }


def settings_with(data_dir: Path, **overrides: Any) -> Settings:
    """Citewire's settings as the CLI builds them (``CITEWIRE_*`` env included), with an explicit data dir.

    Passed as a dict, like service/cli.py does, so type checkers without pydantic's plugin accept it.
    """
    values: dict[str, Any] = {"data_dir": data_dir, **overrides}
    return Settings(**values)


def command_line(module: str) -> str:
    """The command as a user would type it again (``python -m bench.x --flag value``)."""
    return shlex.join(["python", "-m", module, *sys.argv[1:]])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by ``numpy.percentile`` with its default linear interpolation.

    That is the same definition as ``statistics.quantiles(method="inclusive")``: with few samples
    p95 lies between the two largest values rather than being the maximum.
    """
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """n, p50, p95, mean, min and max of a list of measurements (all 0 for an empty list)."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "min": 0.0, "max": 0.0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "mean": round(float(np.mean(values)), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others (numbers) right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def print_header(title: str, command: str, machine: dict[str, Any]) -> None:
    print(f"== {title} ==")
    print(f"command : {command}")
    print(
        f"machine : {machine['nproc']} cores, {machine['cpu_model']}, Python {machine['python']}, "
        f"torch {machine['torch']} with {machine['torch_threads']} threads"
    )
    print(f"load avg: {' '.join(str(x) for x in machine['load_average'])} (1/5/15 min) at start")
    print(f"date    : {datetime.now().astimezone().isoformat(timespec='seconds')}")


def write_results(name: str, command: str, machine: dict[str, Any], payload: dict[str, Any]) -> Path:
    """Save the run as bench/results/<name>-<timestamp>.json (git-ignored) and return the path.

    Every result file starts with the same fields: benchmark, date, command, machine, end load."""
    payload = {
        "benchmark": name,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine,
        "load_average_end": load_average(),
        **payload,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
