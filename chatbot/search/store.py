"""The persisted index folder: FAISS index, passages, vectors and a manifest that says what built them.

Files (the folder also holds a tracked README.md, which this module never touches):

- ``faiss.index``   the FAISS index (``faiss.serialize_index``)
- ``chunks.jsonl``  one ``Chunk.to_dict()`` a line, in vector order (never pickle)
- ``vectors.npy``   float32 (n_chunks, dim), row i is chunk i; reused to re-embed only what changed
- ``manifest.json`` format version, embedder, dimension, corpus hash, chunk settings, index kind, counts,
  creation time and the sha256 of each file above

Every file is written atomically; the old manifest is removed first and the new one written last, so a
folder with a manifest always holds a complete set, and an interrupted save leaves no loadable half index.
Loading is strict: anything missing, corrupt, truncated or inconsistent raises ``IndexStoreError`` with a
sentence saying what, and the caller rebuilds. Whether the index fits the current corpus and settings is
the caller's decision (``chatbot.search.indexing``), not this module's.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from chatbot.errors import IndexStoreError
from chatbot.fileio import atomic_write_bytes, atomic_write_json
from chatbot.search.vector_index import KINDS, VectorIndex
from chatbot.types import Chunk

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAISS_FILE = "faiss.index"
CHUNKS_FILE = "chunks.jsonl"
VECTORS_FILE = "vectors.npy"
DATA_FILES = (FAISS_FILE, CHUNKS_FILE, VECTORS_FILE)


@dataclass(frozen=True)
class Manifest:
    """What built an index. ``files`` (name -> sha256) is filled in by ``save_index``."""

    embedder: str
    dim: int
    corpus_hash: str
    chunk_tokens: int
    chunk_overlap_tokens: int
    index_kind: str
    n_chunks: int
    n_articles: int
    passage_template: str = "{text}"  # how a chunk's embedded text was made from its fields
    format_version: int = FORMAT_VERSION
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        missing = [f.name for f in fields(cls) if f.name not in data]
        if missing:
            raise IndexStoreError(f"The index manifest lacks {', '.join(missing)}; rebuild the index.")
        return cls(**{f.name: data[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class StoredIndex:
    manifest: Manifest
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # (n_chunks, dim) float32, row i belongs to chunks[i]
    vector_index: VectorIndex


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _vectors_bytes(vectors: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def _chunks_bytes(chunks: tuple[Chunk, ...]) -> bytes:
    return "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks).encode("utf-8")


def has_index(folder: Path) -> bool:
    """Whether ``folder`` holds a manifest at all (it may still fail to load)."""
    return (Path(folder) / MANIFEST).is_file()


def _check_consistent(stored: StoredIndex) -> None:
    m, n = stored.manifest, len(stored.chunks)
    if stored.vectors.ndim != 2 or stored.vectors.shape != (n, m.dim):
        raise ValueError(f"vectors have shape {stored.vectors.shape}, expected ({n}, {m.dim})")
    if len(stored.vector_index) != n or (n and stored.vector_index.dim != m.dim):
        raise ValueError(f"the FAISS index holds {len(stored.vector_index)} vectors, expected {n}")
    if m.n_chunks != n:
        raise ValueError(f"the manifest counts {m.n_chunks} chunks, but there are {n}")
    if m.index_kind != stored.vector_index.kind:
        raise ValueError(f"the manifest says {m.index_kind}, the FAISS index is {stored.vector_index.kind}")


def save_index(folder: Path, stored: StoredIndex) -> StoredIndex:
    """Write ``stored`` to ``folder``; returns it with the manifest's ``files`` hashes filled in.

    Raises ``ValueError`` for inconsistent input and ``IndexStoreError`` when the folder cannot be written.
    """
    folder = Path(folder)
    _check_consistent(stored)
    try:
        return _save(folder, stored)
    except OSError as err:
        raise IndexStoreError(f"The index cannot be written to {folder}/ ({err}).") from err


def _save(folder: Path, stored: StoredIndex) -> StoredIndex:
    folder.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST, *DATA_FILES):  # leftovers of a save killed mid-write (fileio's temp names)
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # from here until the end, the folder holds no index
    payloads = {
        FAISS_FILE: stored.vector_index.to_bytes(),
        CHUNKS_FILE: _chunks_bytes(stored.chunks),
        VECTORS_FILE: _vectors_bytes(stored.vectors),
    }
    for name, data in payloads.items():
        atomic_write_bytes(folder / name, data)
    manifest = replace(stored.manifest, files={name: _sha256(data) for name, data in payloads.items()})
    atomic_write_json(folder / MANIFEST, manifest.to_dict())
    return replace(stored, manifest=manifest)


def _read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexStoreError(f"There is no index in {folder}/ ({MANIFEST} is missing).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexStoreError(f"The index manifest {path} is unreadable or not valid JSON ({err}).") from err
    if not isinstance(data, dict):
        raise IndexStoreError(f"The index manifest {path} is not a JSON object.")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexStoreError(
            f"The index in {folder}/ has format version {version!r}; this program reads version "
            f"{FORMAT_VERSION}.")
    manifest = Manifest.from_dict(data)
    if not isinstance(manifest.files, dict) or set(manifest.files) != set(DATA_FILES):
        raise IndexStoreError(f"The index manifest {path} does not list the files {', '.join(DATA_FILES)}.")
    if manifest.index_kind not in KINDS:
        raise IndexStoreError(f"The index manifest {path} names an unknown index kind "
                              f"{manifest.index_kind!r}.")
    return manifest


def load_index(folder: Path) -> StoredIndex:
    """Read and verify the index in ``folder``; raises ``IndexStoreError`` on anything wrong."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    blobs: dict[str, bytes] = {}
    for name in DATA_FILES:
        path = folder / name
        try:
            blobs[name] = path.read_bytes()
        except FileNotFoundError:
            raise IndexStoreError(f"The index file {path} is missing; the index is incomplete.") from None
        except OSError as err:
            raise IndexStoreError(f"The index file {path} cannot be read ({err}).") from err
        if _sha256(blobs[name]) != manifest.files[name]:
            raise IndexStoreError(
                f"The index file {path} does not match its manifest checksum: it is corrupt, truncated or "
                "from another build.")
    # The checksums matched, so what follows fails only for a manifest written by something else.
    try:
        lines = blobs[CHUNKS_FILE].decode("utf-8").splitlines()
        chunks = tuple(Chunk.from_dict(json.loads(line)) for line in lines if line.strip())
        vectors = np.load(io.BytesIO(blobs[VECTORS_FILE]), allow_pickle=False)
        if vectors.dtype != np.float32:
            raise ValueError(f"vectors are {vectors.dtype}, not float32")
        vector_index = VectorIndex.from_bytes(blobs[FAISS_FILE], manifest.index_kind)  # type: ignore[arg-type]
        stored = StoredIndex(manifest, chunks, vectors, vector_index)
        _check_consistent(stored)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise IndexStoreError(f"The index in {folder}/ is inconsistent ({err}); rebuild it.") from err
    return stored
