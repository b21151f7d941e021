"""Tests for service.settings.Settings: CITEWIRE_ environment variables and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_defaults() -> None:
    settings = Settings()
    assert settings.data_dir == Path("data")
    assert settings.llm_backend == "llamacpp"
    assert settings.llm_model == "default"
    assert settings.top_k == 4
    assert settings.chunk_overlap_tokens < settings.chunk_tokens
    assert settings.max_question_chars == 2000
    assert settings.chroma_dir == Path("data") / "chroma"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEWIRE_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("CITEWIRE_TOP_K", "7")
    monkeypatch.setenv("CITEWIRE_LLM_BACKEND", "openai")
    monkeypatch.setenv("CITEWIRE_LLM_MODEL", "qwen")
    monkeypatch.setenv("CITEWIRE_MIN_RELEVANCE", "0.35")
    monkeypatch.setenv("CITEWIRE_OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("CITEWIRE_PORT", "9001")
    settings = Settings()
    assert settings.data_dir == tmp_path / "store"
    assert settings.chroma_dir == tmp_path / "store" / "chroma"
    assert settings.top_k == 7
    assert settings.llm_backend == "openai"
    assert settings.llm_model == "qwen"
    assert settings.min_relevance == pytest.approx(0.35)
    assert settings.openai_api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(settings)
    assert settings.port == 9001


def test_lowercase_environment_names_are_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("citewire_top_k", "5")
    assert Settings().top_k == 5


def test_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWIRE_TOP_K", "7")
    assert Settings(top_k=3).top_k == 3


def test_unrelated_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOP_K", "9")
    monkeypatch.setenv("CITEWIRE_NOT_A_SETTING", "x")
    assert Settings().top_k == 4


def test_model_cache_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().model_cache_dir == tmp_path / "citewire" / "models"


@pytest.mark.parametrize(("chunk", "overlap"), [(64, 64), (64, 100), (16, 16)])
def test_overlap_not_below_chunk_size_is_rejected(chunk: int, overlap: int) -> None:
    with pytest.raises(ValidationError, match="chunk_overlap_tokens must be smaller than chunk_tokens"):
        Settings(chunk_tokens=chunk, chunk_overlap_tokens=overlap)


def test_overlap_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWIRE_CHUNK_TOKENS", "32")
    monkeypatch.setenv("CITEWIRE_CHUNK_OVERLAP_TOKENS", "32")
    with pytest.raises(ValidationError, match="smaller than chunk_tokens"):
        Settings()


def test_overlap_just_below_chunk_size_is_accepted() -> None:
    settings = Settings(chunk_tokens=64, chunk_overlap_tokens=63)
    assert (settings.chunk_tokens, settings.chunk_overlap_tokens) == (64, 63)


@pytest.mark.parametrize("backend", ["ollama", "LLAMACPP", "", "openai "])
def test_bad_backend_is_rejected(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWIRE_LLM_BACKEND", backend)
    with pytest.raises(ValidationError, match="llm_backend"):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CITEWIRE_TOP_K", "0"),
        ("CITEWIRE_TOP_K", "21"),
        ("CITEWIRE_TOP_K", "four"),
        ("CITEWIRE_PORT", "0"),
        ("CITEWIRE_PORT", "70000"),
        ("CITEWIRE_MIN_RELEVANCE", "1.5"),
        ("CITEWIRE_COLLECTION", "a"),
        ("CITEWIRE_COLLECTION", "bad name!"),
        ("CITEWIRE_CHUNK_TOKENS", "8"),
        ("CITEWIRE_OPENAI_TIMEOUT_S", "0"),
    ],
)
def test_out_of_range_values_are_rejected(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_chroma_url_is_a_server_address(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().chroma_url is None
    monkeypatch.setenv("CITEWIRE_CHROMA_URL", "http://127.0.0.1:8001")
    url = Settings().chroma_url
    assert url is not None and (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 8001)
    assert Settings(chroma_url="https://chroma.example").chroma_url.port == 443  # type: ignore[union-attr, arg-type]


@pytest.mark.parametrize("url", ["127.0.0.1:8001", "ftp://host:21", "http://host:8001/api", "http://host:8001/?a=1"])
def test_chroma_url_with_another_scheme_or_a_path_is_rejected(url: str) -> None:
    with pytest.raises(ValidationError, match="chroma_url"):
        Settings(chroma_url=url)  # type: ignore[arg-type]


def test_several_workers_need_a_chroma_server(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().workers == 1
    with pytest.raises(ValidationError, match="workers > 1 needs CITEWIRE_CHROMA_URL"):
        Settings(workers=2)
    monkeypatch.setenv("CITEWIRE_CHROMA_URL", "http://127.0.0.1:8001")
    monkeypatch.setenv("CITEWIRE_WORKERS", "3")
    assert Settings().workers == 3


def test_every_setting_is_described_in_the_generated_list() -> None:
    from service.settings import settings_markdown

    table = settings_markdown()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"`CITEWIRE_{name.upper()}`" in table
