"""bench.tables: a summary renders to the expected markdown, and the docs' tables match their summaries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import tables

SUMMARY = {
    "title": "Tiny",
    "what": "A made-up table.",
    "command": "python -m bench.tiny",
    "machine": "nowhere",
    "columns": ["setting", "p50 ms", "note"],
    "align": "lrl",
    "rows": [["a", "1.5", "x | y"], ["b", "20", ""]],
}
EXPECTED = """\
| setting | p50 ms | note |
|---|---:|---|
| a | 1.5 | x \\| y |
| b | 20 | |
"""


def test_render_table() -> None:
    assert tables.render_table(SUMMARY) == EXPECTED


def test_render_table_default_alignment_and_bad_rows() -> None:
    summary = {key: value for key, value in SUMMARY.items() if key != "align"} | {"rows": [["a", "1", "2"]]}
    assert tables.render_table(summary).splitlines()[1] == "|---|---:|---:|"
    with pytest.raises(ValueError, match="cells"):
        tables.render_table({**SUMMARY, "rows": [["only one"]]})


def test_render_doc_replaces_only_the_marked_region(tmp_path: Path) -> None:
    (tmp_path / "tiny.json").write_text(json.dumps(SUMMARY), encoding="utf-8")
    doc = "# Doc\n\n<!-- table: tiny -->\nstale\n<!-- /table -->\n\nAfter.\n"
    expected = f"# Doc\n\n<!-- table: tiny -->\n\n{EXPECTED}\n<!-- /table -->\n\nAfter.\n"
    assert tables.render_doc(doc, tmp_path) == expected
    with pytest.raises(ValueError, match="no '<!-- /table -->'"):
        tables.render_doc("<!-- table: tiny -->\n", tmp_path)


def test_check_passes_on_the_repository() -> None:
    assert tables.main(["--check"]) == 0


def _copy_of_repo(tmp_path: Path) -> Path:
    """The two docs and the summaries, under ``tmp_path`` laid out as in the repository."""
    for doc in tables.DOCS:
        (tmp_path / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tables.REPO_ROOT / doc, tmp_path / doc)
    shutil.copytree(tables.REPO_ROOT / tables.BASELINES, tmp_path / tables.BASELINES)
    return tmp_path


def test_check_fails_after_a_doc_table_is_altered(tmp_path: Path) -> None:
    root = _copy_of_repo(tmp_path)
    doc = root / "docs" / "EVALUATION.md"
    text = doc.read_text(encoding="utf-8")
    row = "| abstained when answerable | **7.1%** |"
    assert row in text
    doc.write_text(text.replace(row, "| abstained when answerable | **6.1%** |"), encoding="utf-8")
    assert tables.main(["--check", "--root", str(root)]) == 1
    assert tables.main(["--root", str(root)]) == 0  # rewrites the table from its summary
    assert doc.read_text(encoding="utf-8") == text
    assert tables.main(["--check", "--root", str(root)]) == 0


def test_check_fails_when_a_summary_changes_or_no_doc_shows_it(tmp_path: Path) -> None:
    root = _copy_of_repo(tmp_path)
    path = root / tables.BASELINES / "bench_scale.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["rows"][0][2] = "99.9"
    path.write_text(json.dumps(summary), encoding="utf-8")
    assert tables.main(["--check", "--root", str(root)]) == 1
    path.rename(path.with_name("bench_unshown.json"))
    (root / "docs" / "BENCHMARKS.md").write_text("# Benchmarks\n", encoding="utf-8")
    assert tables.main(["--check", "--root", str(root)]) == 1
