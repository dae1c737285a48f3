"""A small wrapper over FAISS for inner-product search on unit vectors.

Three kinds: ``flat`` (``IndexFlatIP``, exact cosine search on unit vectors, the default), ``hnsw``
(``IndexHNSWFlat`` with inner product; graph search, approximate) and ``ivf`` (``IndexIVFFlat`` with inner
product; ``nlist ~ sqrt(n)`` clusters trained on the vectors, ``nprobe`` of them searched; approximate).
Use an approximate kind only with a measurement of its recall against ``flat`` (bench/retrieval_bench.py).
Results never contain FAISS's ``-1`` "no result" labels. The thread count is passed in explicitly and set
with ``faiss.omp_set_num_threads``, which is process-wide. This module knows nothing about chunks or files:
``to_bytes`` / ``from_bytes`` are FAISS's own serialisation, and the store decides where they go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from chatbot.config import IndexKind

KINDS: tuple[str, ...] = ("flat", "hnsw", "ivf")


@dataclass(frozen=True)
class IndexParams:
    """Tuning knobs of the approximate kinds (ignored by ``flat``)."""

    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 64
    # None: about sqrt(n), at least 1, at most n // 39 (FAISS wants ~39 points each)
    ivf_nlist: int | None = None
    ivf_nprobe: int = 8


def _faiss():
    import faiss  # a core dependency; imported here so importing this module stays cheap

    return faiss


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"expected a (n, dim) array of vectors, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got {arr.shape[1]}")
    return arr


def ivf_nlist(n: int) -> int:
    """Clusters for ``n`` vectors: about sqrt(n), with at least ~39 training points per cluster."""
    return max(1, min(round(math.sqrt(n)), n // 39))


class VectorIndex:
    """Build with ``VectorIndex.build``; ``search`` returns per-query arrays of scores and row numbers."""

    def __init__(self, index: Any, kind: IndexKind, params: IndexParams = IndexParams()) -> None:
        self._index = index
        self.kind = kind
        self.params = params
        self._configure()

    @classmethod
    def build(cls, vectors: np.ndarray, kind: IndexKind = "flat", *, threads: int = 1,
              params: IndexParams = IndexParams()) -> VectorIndex:
        """Index ``vectors`` ((n, dim) float32 unit vectors; row i gets label i)."""
        if kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; use one of {', '.join(KINDS)}")
        faiss = _faiss()
        faiss.omp_set_num_threads(max(1, int(threads)))
        vectors = _as_matrix(vectors)
        n, dim = vectors.shape
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = params.hnsw_ef_construction
        else:
            nlist = params.ivf_nlist or ivf_nlist(n)
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            if n:
                index.train(vectors)
        if n:
            index.add(vectors)
        return cls(index, kind, params)

    def _configure(self) -> None:
        if self.kind == "hnsw":
            self._index.hnsw.efSearch = self.params.hnsw_ef_search
        elif self.kind == "ivf":
            self._index.nprobe = min(self.params.ivf_nprobe, self._index.nlist)

    def _search_params(self) -> Any:
        """Per-call search parameters, so indexes sharing one FAISS object via ``with_params`` stay
        independent."""
        faiss = _faiss()
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(efSearch=self.params.hnsw_ef_search)
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(nprobe=min(self.params.ivf_nprobe, self._index.nlist))
        return None

    def with_params(self, params: IndexParams) -> VectorIndex:
        """The same index searched with other ``efSearch`` / ``nprobe`` (the build parameters cannot
        change)."""
        return VectorIndex(self._index, self.kind, params)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, query_vectors: np.ndarray, k: int, *, threads: int | None = None,
               ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The ``k`` best rows for each query, best first, as (scores, indices): one 1-D array per query.

        Rows FAISS could not fill (``k`` larger than the index, or an approximate search that found fewer)
        are dropped, so the arrays of one query can be shorter than ``k``.
        """
        queries = _as_matrix(query_vectors, self.dim)
        if k <= 0 or len(self) == 0:
            empty = [np.zeros(0, np.float32) for _ in range(len(queries))]
            return empty, [np.zeros(0, np.int64) for _ in range(len(queries))]
        if threads is not None:
            _faiss().omp_set_num_threads(max(1, int(threads)))
        scores, labels = self._index.search(queries, min(k, len(self)), params=self._search_params())
        keep = labels >= 0
        return ([s[m] for s, m in zip(scores, keep, strict=True)],
                [lab[m] for lab, m in zip(labels, keep, strict=True)])

    def to_bytes(self) -> bytes:
        return _faiss().serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, kind: IndexKind, params: IndexParams = IndexParams()) -> VectorIndex:
        """Raises ``ValueError`` when ``data`` is not a FAISS index of that kind."""
        faiss = _faiss()
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as err:
            raise ValueError(f"not a FAISS index: {err}") from err
        expected = {"flat": faiss.IndexFlatIP, "hnsw": faiss.IndexHNSWFlat, "ivf": faiss.IndexIVFFlat}[kind]
        if not isinstance(index, expected):
            raise ValueError(f"the FAISS index is a {type(index).__name__}, not a {kind} index")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError("the FAISS index does not use inner product")
        return cls(index, kind, params)
