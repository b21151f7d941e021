"""Tests for the citewire command (service/cli/): ingest and info against a temporary store."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from index.embedding import Embedder
from service.cli import build_parser, main
from tests.service.fakes import ScriptedLLM

SUMMARY = re.compile(
    r"(?P<articles>\d+) articles: (?P<created>\d+) created, (?P<replaced>\d+) replaced, "
    r"(?P<unchanged>\d+) unchanged; (?P<written>\d+) chunks written; "
    r"store has (?P<stored>\d+) articles, (?P<chunks>\d+) chunks in (?P<dir>.+)"
)


def _summary(out: str) -> dict[str, str]:
    match = SUMMARY.search(out)
    assert match, out
    return match.groupdict()


def _ingest(*paths: Path, data_dir: Path) -> int:
    return main(["ingest", *map(str, paths), "--data-dir", str(data_dir), "--quiet"])


def _info(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["info", "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in lines)


def test_ingest_prints_counts_then_reports_unchanged(
    seed_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> None:
    data_dir = tmp_path / "data"
    assert _ingest(seed_dir, data_dir=data_dir) == 0
    first = _summary(capsys.readouterr().out)
    assert (first["articles"], first["created"], first["replaced"], first["unchanged"]) == ("1", "1", "0", "0")
    assert int(first["written"]) == int(first["chunks"]) > 0
    assert first["stored"] == "1"
    assert first["dir"] == str(data_dir)

    assert _ingest(seed_dir, data_dir=data_dir) == 0
    again = _summary(capsys.readouterr().out)
    assert (again["created"], again["unchanged"], again["written"]) == ("0", "1", "0")
    assert (again["stored"], again["chunks"]) == ("1", first["chunks"])


def test_ingest_of_a_single_file(
    seed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> None:
    assert _ingest(seed_path, data_dir=tmp_path / "data") == 0
    assert _summary(capsys.readouterr().out)["created"] == "1"


def test_ingest_of_a_missing_path_fails_with_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _ingest(tmp_path / "nowhere", data_dir=tmp_path / "data") == 2
    captured = capsys.readouterr()
    assert "no such file or folder" in captured.err
    assert captured.out == ""


def test_ingest_of_a_folder_without_articles_fails_with_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a,b\n")
    assert _ingest(empty, data_dir=tmp_path / "data") == 2
    assert "no .txt, .md, .html or .jsonl files" in capsys.readouterr().err


def test_a_bad_file_fails_with_1_but_the_good_ones_are_ingested(
    seed_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(seed_path, folder / seed_path.name)
    (folder / "bad.jsonl").write_text('{"title": "No text here"}\n', encoding="utf-8")
    data_dir = tmp_path / "data"
    assert _ingest(folder, data_dir=data_dir) == 1
    captured = capsys.readouterr()
    assert "skipped:" in captured.err
    assert "bad.jsonl:1" in captured.err
    summary = _summary(captured.out)
    assert (summary["created"], summary["stored"]) == ("1", "1")
    assert _info(data_dir, capsys)["articles"] == "1"


def test_good_lines_before_a_bad_line_in_jsonl_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> None:
    record = {"id": "good-1", "title": "Rates held", "text": "The central bank kept its key rate unchanged."}
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps(record) + "\n{not json\n", encoding="utf-8")
    assert _ingest(path, data_dir=tmp_path / "data") == 1
    captured = capsys.readouterr()
    assert "feed.jsonl:2" in captured.err
    assert _summary(captured.out)["created"] == "1"


def test_info_reports_the_store(
    seed_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> None:
    data_dir = tmp_path / "data"
    assert _ingest(seed_dir, data_dir=data_dir) == 0
    chunks = _summary(capsys.readouterr().out)["chunks"]
    info = _info(data_dir, capsys)
    assert info["articles"] == "1"
    assert info["chunks"] == chunks
    assert info["data_dir"] == str(data_dir.resolve())
    assert int(info["store_bytes"]) > 0
    assert info["embed_model"].startswith("minilm-int8 (")
    assert info["llm"] == "llamacpp: default"


def test_info_on_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = _info(tmp_path / "fresh", capsys)
    assert (info["articles"], info["chunks"]) == ("0", "0")


def test_invalid_settings_fail_with_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEWIRE_TOP_K", "0")
    assert main(["info", "--data-dir", str(tmp_path / "data")]) == 2
    assert "invalid settings" in capsys.readouterr().err


def test_data_dir_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEWIRE_DATA_DIR", str(tmp_path / "from-env"))
    assert main(["info"]) == 0
    assert str(tmp_path / "from-env") in capsys.readouterr().out


def test_serve_with_workers_refuses_an_embedded_store_or_an_absent_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both fail before any worker starts loading models."""
    assert main(["serve", "--workers", "2", "--data-dir", str(tmp_path)]) == 2
    assert "workers > 1 needs CITEWIRE_CHROMA_URL" in capsys.readouterr().err
    monkeypatch.setenv("CITEWIRE_CHROMA_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    assert main(["serve", "--workers", "2", "--data-dir", str(tmp_path)]) == 2
    assert "no Chroma server answers at http://127.0.0.1:9/" in capsys.readouterr().err


def test_eval_will_not_index_a_corpus_into_a_chroma_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEWIRE_CHROMA_URL", "http://127.0.0.1:9")
    argv = ["eval", "q.jsonl", "--corpus", "c.jsonl", "--data-dir", str(tmp_path), "--out", "o", "--report", "r"]
    assert main(argv) == 2
    assert "unset CITEWIRE_CHROMA_URL" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "command" in capsys.readouterr().err


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    for argv in (["ingest", "x"], ["serve"], ["ask", "Why?"], ["info"]):
        assert parser.parse_args(argv).command == argv[0]
    assert parser.parse_args(["ask", "Why?", "--top-k", "3", "--json"]).top_k == 3


@pytest.fixture
def scripted_llm(monkeypatch: pytest.MonkeyPatch, restore_torch_threads: None) -> ScriptedLLM:
    """`citewire ask` builds its own LLM from settings; hand it a scripted one instead of a GGUF."""
    llm = ScriptedLLM()
    monkeypatch.setattr("service.components.build_llm", lambda settings: llm)
    return llm


@pytest.fixture
def seeded_data_dir(
    seed_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reuse_embedder: Embedder
) -> Path:
    """A store with the seed ingested through the CLI (its output already consumed)."""
    data_dir = tmp_path / "data"
    assert _ingest(seed_dir, data_dir=data_dir) == 0
    capsys.readouterr()
    return data_dir


def test_ask_prints_the_answer_and_its_citations(
    seeded_data_dir: Path, capsys: pytest.CaptureFixture[str], scripted_llm: ScriptedLLM
) -> None:
    data_dir = seeded_data_dir
    scripted_llm.script("FT reviewed the memo [1].")
    assert main(["ask", "Who reviewed the White House memo?", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert scripted_llm.calls == 1
    answer, citation = out.split("\n\n", 1)
    assert "FT" in answer and answer.endswith("[1].")
    header = r"\[1\] Chinese giant Alibaba accused by Washington \(BB\.LV, 2025-11-18\) \S+ chars \d+-\d+"
    assert re.match(header, citation)
    assert '    "' in citation


def test_ask_json_prints_the_api_response(
    seeded_data_dir: Path, capsys: pytest.CaptureFixture[str], scripted_llm: ScriptedLLM
) -> None:
    data_dir = seeded_data_dir
    scripted_llm.script("NOT IN SOURCES")
    assert main(["ask", "Who reviewed the White House memo?", "--json", "--data-dir", str(data_dir)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["abstained"] is True
    assert body["citations"] == []
    assert set(body) == {"answer", "abstained", "citations", "sentences", "timings_ms"}


@pytest.mark.parametrize(
    ("options", "abstained"),
    [
        (["--source", "BB.LV", "--after", "2025-11-01", "--before", "2025-11-30"], False),
        (["--article-id", "000_070c77320a5da855"], False),
        (["--source", "cnn.com"], True),
        (["--after", "2025-11-19"], True),
        (["--as-of", "2025-11-30"], False),
        (["--as-of", "2025-11-17"], True),
    ],
)
def test_ask_filters_the_articles_searched(
    seeded_data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    scripted_llm: ScriptedLLM,
    options: list[str],
    abstained: bool,
) -> None:
    scripted_llm.script("FT reviewed the memo [1].")
    argv = ["ask", "Who reviewed the White House memo?", "--json", "--data-dir", str(seeded_data_dir), *options]
    assert main(argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["abstained"] is abstained
    assert scripted_llm.calls == (0 if abstained else 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--after", "2025-02-30"], "calendar date"),
        (["--after", "2025-12-01", "--before", "2025-11-01"], "later"),
        (["--article-id", "../x"], "not an article id"),
        (["--as-of", "2025-11"], "as_of"),
    ],
)
def test_ask_rejects_bad_filters_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert main(["ask", "Who?", "--data-dir", str(tmp_path / "none"), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    ("env", "host", "told"),
    [
        ({}, "127.0.0.1", ["writes need the API key kept in"]),
        ({"CITEWIRE_HOST": "0.0.0.0"}, "0.0.0.0", ["writes need the API key", "EVERYONE who can reach 0.0.0.0"]),
        ({"CITEWIRE_API_KEY": "k" * 24}, "127.0.0.1", []),
    ],
    ids=["no key: loopback", "no key: all interfaces", "a key"],
)
def test_serve_binds_to_loopback_by_default_and_keeps_writes_closed(
    env: dict[str, str],
    host: str,
    told: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: served.update(kw))
    monkeypatch.setattr("service.http.app.create_app", lambda settings: settings)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert served["host"] == host
    err = capsys.readouterr().err
    for line in told:
        assert line in err
    key_file = tmp_path / "api_key"
    if "CITEWIRE_API_KEY" in env:
        assert not key_file.exists() and "API key" not in err
    else:
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert main(["key", "--data-dir", str(tmp_path)]) == 0
        assert capsys.readouterr().out.strip() == key_file.read_text().strip()


@pytest.mark.parametrize("key", ["", "   ", "short"])
def test_an_empty_or_short_key_is_refused(key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWIRE_API_KEY", key)
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: pytest.fail("served with an empty key"))
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
