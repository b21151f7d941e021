"""The docs' result tables, generated from the summaries in ``bench/baselines/``.

Each summary ``bench/baselines/<name>.json`` holds one evaluation's or benchmark's latest table: ``title``,
``what``, ``command``, ``machine``, ``measured`` (when and at which commit), ``columns`` and ``rows`` (lists
of cell strings), and optionally ``align`` (a letter per column, ``l`` or ``r``; default ``l`` then ``r``) and
``more_tables``: further tables (each its own ``columns``, ``rows`` and optional ``align``) shown after the first.
In docs/EVALUATION.md and docs/BENCHMARKS.md, the lines between ``<!-- table: <name> -->`` and
``<!-- /table -->`` are that summary's table as markdown.

    python -m bench.tables           # rewrite every table in the docs from its summary
    python -m bench.tables --check   # exit 1 if a doc table differs from its summary (nothing written)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = ("docs/EVALUATION.md", "docs/BENCHMARKS.md")
BASELINES = Path("bench/baselines")
REQUIRED = ("title", "what", "command", "machine", "columns", "rows")
OPENING = re.compile(r"<!-- table: ([a-z0-9_]+) -->")
REGION = re.compile(r"(<!-- table: ([a-z0-9_]+) -->\n)(.*?)(<!-- /table -->)", re.DOTALL)


def _row(cells: Sequence[Any]) -> str:
    """One markdown table row; a ``|`` inside a cell is escaped, an empty cell is one space."""
    texts = [str(c).replace("|", "\\|") for c in cells]
    return "|" + "|".join(f" {t} " if t else " " for t in texts) + "|"


def render_table(summary: dict[str, Any]) -> str:
    """The summary's table as markdown: header, alignment row, one line per row; then each of its
    ``more_tables`` the same way, after a blank line."""
    tables = [summary, *summary.get("more_tables", [])]
    return "\n".join(_markdown(summary["title"], table) for table in tables)


def _markdown(title: str, table: dict[str, Any]) -> str:
    columns: list[str] = table["columns"]
    align = table.get("align", "l" + "r" * (len(columns) - 1))
    if len(align) != len(columns) or set(align) - {"l", "r"}:
        raise ValueError(f"{title!r}: align {align!r} is not one l or r per column")
    lines = [_row(columns), "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    for row in table["rows"]:
        if len(row) != len(columns):
            raise ValueError(f"{title!r}: row {row!r} has {len(row)} cells, not {len(columns)}")
        lines.append(_row(row))
    return "\n".join(lines) + "\n"


def load_summary(baselines: Path, name: str) -> dict[str, Any]:
    """``<baselines>/<name>.json``, checked for the fields every summary has."""
    summary: dict[str, Any] = json.loads((baselines / f"{name}.json").read_text(encoding="utf-8"))
    if missing := [key for key in REQUIRED if key not in summary]:
        raise ValueError(f"{baselines / name}.json lacks {', '.join(missing)}")
    return summary


def render_doc(text: str, baselines: Path) -> str:
    """``text`` with every marked region replaced by its summary's table (a blank line either side)."""
    if len(OPENING.findall(text)) != len(REGION.findall(text)):
        raise ValueError("a '<!-- table: name -->' marker has no '<!-- /table -->' after it")

    def table(match: re.Match[str]) -> str:
        return f"{match[1]}\n{render_table(load_summary(baselines, match[2]))}\n{match[4]}"

    return REGION.sub(table, text)


def tables_in(text: str) -> list[str]:
    """The summary names a doc's markers refer to, in order."""
    return OPENING.findall(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the docs' tables, or with ``--check`` report those that differ; 1 when any does."""
    parser = argparse.ArgumentParser(prog="python -m bench.tables", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a table is out of date")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    baselines = args.root / BASELINES
    texts: dict[str, tuple[str, str]] = {}  # doc -> (as it is, as rendered)
    for doc in DOCS:
        text = (args.root / doc).read_text(encoding="utf-8")
        try:
            texts[doc] = (text, render_doc(text, baselines))
        except (OSError, ValueError) as exc:
            print(f"{doc}: {exc}", file=sys.stderr)
            return 1
    used = {name for text, _ in texts.values() for name in tables_in(text)}
    summaries = sorted(p.stem for p in baselines.glob("*.json") if "columns" in json.loads(p.read_text("utf-8")))
    if unused := [name for name in summaries if name not in used]:
        print(f"summaries no doc shows: {', '.join(unused)}", file=sys.stderr)
        return 1
    stale = [doc for doc, (text, rendered) in texts.items() if rendered != text]
    if args.check:
        if stale:
            print(f"out of date (run python -m bench.tables): {', '.join(stale)}", file=sys.stderr)
        return 1 if stale else 0
    for doc in stale:
        (args.root / doc).write_text(texts[doc][1], encoding="utf-8")
        print(f"rewrote the tables of {doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
