"""The persisted index: round trip, strict verification, and no half index after an interrupted save."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import chatbot.fileio
from chatbot.embedders.fake import HashEmbedder
from chatbot.errors import IndexStoreError
from chatbot.search import store
from chatbot.search.store import Manifest, StoredIndex, has_index, load_index, save_index
from chatbot.search.vector_index import VectorIndex
from chatbot.types import Chunk


def make_stored(texts=("Delegasi Rusia dipimpin oleh Alexander Gutsan.", "72 negara menandatangani konvensi.",
                       "Lebih dari 2.500 delegasi hadir."), kind="flat") -> StoredIndex:
    chunks = tuple(Chunk(chunk_id=f"c{i}", article_id=f"a{i}", title=f"Judul {i}", url=f"https://x.vn/{i}",
                         publisher="x.vn", text=t, start=0, end=len(t)) for i, t in enumerate(texts))
    emb = HashEmbedder(64)
    vectors = emb.embed_documents([c.text for c in chunks])
    manifest = Manifest(embedder=emb.spec, dim=emb.dim, corpus_hash="abc", chunk_tokens=160,
                        chunk_overlap_tokens=32, index_kind=kind, n_chunks=len(chunks),
                        n_articles=len(chunks))
    return StoredIndex(manifest, chunks, vectors, VectorIndex.build(vectors, kind))


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "README.md").write_text("tracked readme\n")
    return folder, save_index(folder, make_stored())


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_round_trip(tmp_path, kind):
    original = make_stored(kind=kind)
    saved = save_index(tmp_path, original)
    loaded = load_index(tmp_path)
    assert loaded.chunks == original.chunks
    np.testing.assert_array_equal(loaded.vectors, original.vectors)
    assert loaded.vectors.dtype == np.float32
    assert loaded.manifest == saved.manifest and loaded.manifest.files == saved.manifest.files
    assert set(loaded.manifest.files) == {"faiss.index", "chunks.jsonl", "vectors.npy"}
    assert loaded.vector_index.kind == kind
    _, ids = loaded.vector_index.search(original.vectors[1], 1)
    assert ids[0][0] == 1


def test_files_on_disk_are_plain_formats_and_readme_is_untouched(saved):
    folder, _ = saved
    assert (folder / "README.md").read_text() == "tracked readme\n"
    rows = [json.loads(line) for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["chunk_id"] for r in rows] == ["c0", "c1", "c2"]
    assert np.load(folder / "vectors.npy", allow_pickle=False).shape == (3, 64)
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in ("format_version", "embedder", "dim", "corpus_hash", "chunk_tokens", "chunk_overlap_tokens",
                "index_kind", "n_chunks", "n_articles", "created_at", "files"):
        assert key in manifest
    assert manifest["embedder"] == "fake:64" and manifest["n_chunks"] == 3


def test_no_index_is_reported(tmp_path):
    assert not has_index(tmp_path)
    with pytest.raises(IndexStoreError, match="manifest.json is missing"):
        load_index(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["faiss.index", "chunks.jsonl", "vectors.npy"])
def test_missing_file(saved, name):
    folder, _ = saved
    (folder / name).unlink()
    with pytest.raises(IndexStoreError, match="missing"):
        load_index(folder)


@pytest.mark.parametrize("name", ["faiss.index", "chunks.jsonl", "vectors.npy"])
def test_truncated_file(saved, name):
    folder, _ = saved
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexStoreError, match="checksum"):
        load_index(folder)


@pytest.mark.parametrize("name", ["faiss.index", "chunks.jsonl", "vectors.npy"])
def test_corrupt_file_same_length(saved, name):
    folder, _ = saved
    data = bytearray((folder / name).read_bytes())
    data[-2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(IndexStoreError, match="checksum"):
        load_index(folder)


def test_corrupt_manifest(saved):
    folder, _ = saved
    (folder / "manifest.json").write_text('{"format_version": 1, "embedder": ')
    with pytest.raises(IndexStoreError, match="not valid JSON"):
        load_index(folder)


def test_other_format_version(saved):
    folder, _ = saved
    data = json.loads((folder / "manifest.json").read_text())
    data["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(IndexStoreError, match="format version 99"):
        load_index(folder)


def test_manifest_missing_a_field(saved):
    folder, _ = saved
    data = json.loads((folder / "manifest.json").read_text())
    del data["corpus_hash"]
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(IndexStoreError, match="corpus_hash"):
        load_index(folder)


def test_manifest_that_disagrees_with_the_files(saved):
    folder, _ = saved
    data = json.loads((folder / "manifest.json").read_text())
    data["n_chunks"] = 4
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(IndexStoreError, match="inconsistent"):
        load_index(folder)
    data["n_chunks"], data["dim"] = 3, 128
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(IndexStoreError, match="inconsistent"):
        load_index(folder)


def test_files_swapped_between_two_builds_do_not_load(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    save_index(a, make_stored())
    save_index(b, make_stored(texts=("lain", "teks", "berbeda")))
    (a / "vectors.npy").write_bytes((b / "vectors.npy").read_bytes())
    with pytest.raises(IndexStoreError, match="checksum"):
        load_index(a)


def test_save_refuses_inconsistent_input(tmp_path):
    stored = make_stored()
    with pytest.raises(ValueError):
        save_index(tmp_path, replace(stored, vectors=stored.vectors[:2]))
    assert not has_index(tmp_path)


@pytest.mark.parametrize("failing", ["chunks.jsonl", "vectors.npy", "manifest.json"])
def test_interrupted_save_leaves_no_loadable_half_index(saved, monkeypatch, failing):
    folder, _ = saved
    new = make_stored(texts=("sebuah teks baru", "dan satu lagi"))
    real_write = chatbot.fileio.atomic_write_bytes

    def crashing_write(path, data):
        if path.name == failing:
            raise KeyboardInterrupt("killed mid-save")
        real_write(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", crashing_write)
    # atomic_write_json goes through it
    monkeypatch.setattr(chatbot.fileio, "atomic_write_bytes", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        save_index(folder, new)
    with pytest.raises(IndexStoreError):
        load_index(folder)
    assert (folder / "README.md").read_text() == "tracked readme\n"
    monkeypatch.undo()
    save_index(folder, new)  # the next save repairs it
    assert load_index(folder).chunks == new.chunks


def test_leftover_temp_files_are_removed_on_the_next_save(saved):
    folder, stored = saved
    (folder / ".faiss.index.abc123.tmp").write_bytes(b"partial")
    save_index(folder, stored)
    assert not list(folder.glob(".*.tmp"))
    assert (folder / "README.md").exists()


def test_unwritable_folder_is_an_index_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(IndexStoreError, match="cannot be written"):
        save_index(blocker / "index", make_stored())
