"""VectorIndex: exact search equals brute force, -1 labels never leak, approximate kinds find most
neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.search.vector_index import IndexParams, VectorIndex, ivf_nlist


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_top_k_equals_numpy_top_k():
    data, queries = unit_vectors(500, 48, 1), unit_vectors(20, 48, 2)
    scores, ids = VectorIndex.build(data, "flat").search(queries, 10)
    exact = queries @ data.T
    for q in range(len(queries)):
        expected = np.argsort(-exact[q], kind="stable")[:10]
        assert list(ids[q]) == list(expected)
        np.testing.assert_allclose(scores[q], exact[q][expected], rtol=1e-5, atol=1e-6)


def test_k_larger_than_index_returns_every_row_and_no_minus_one():
    data = unit_vectors(3, 16)
    scores, ids = VectorIndex.build(data, "flat").search(data[:1], 10)
    assert sorted(ids[0].tolist()) == [0, 1, 2]
    assert ids[0][0] == 0 and len(scores[0]) == 3


def test_minus_one_labels_from_faiss_are_dropped():
    # IVF probing one of several clusters returns fewer than k real results; FAISS pads them with -1.
    data = unit_vectors(400, 8, 3)
    index = VectorIndex.build(data, "ivf", params=IndexParams(ivf_nlist=8, ivf_nprobe=1))
    scores, ids = index.search(data[:5], 399)
    for q in range(5):
        assert 0 < len(ids[q]) < 399
        assert (ids[q] >= 0).all()
        assert len(scores[q]) == len(ids[q])


def test_empty_index_and_zero_k():
    index = VectorIndex.build(np.zeros((0, 16), np.float32), "flat")
    assert len(index) == 0
    _, ids = index.search(unit_vectors(2, 16), 5)
    assert [len(i) for i in ids] == [0, 0]
    _, ids = VectorIndex.build(unit_vectors(5, 16), "flat").search(unit_vectors(1, 16), 0)
    assert len(ids[0]) == 0


def test_single_query_vector_is_accepted_and_wrong_dimension_rejected():
    data = unit_vectors(10, 16)
    index = VectorIndex.build(data, "flat")
    _, ids = index.search(data[4], 1)
    assert ids[0][0] == 4
    with pytest.raises(ValueError):
        index.search(unit_vectors(1, 8), 1)


def clustered_unit_vectors(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """Points around a few centres, like text embeddings (uniform random data has no structure to exploit)."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(clusters, dim, seed + 100)
    x = centres[rng.integers(0, clusters, n)] + 0.15 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_have_sane_recall(kind):
    points = clustered_unit_vectors(2050, 32, 20, 4)
    data, queries = points[:2000], points[2000:]
    _, exact = VectorIndex.build(data, "flat").search(queries, 10)
    _, approx = VectorIndex.build(data, kind, threads=1).search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.8, recall


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_bytes_round_trip_gives_identical_results(kind):
    data = unit_vectors(300, 16, 6)
    index = VectorIndex.build(data, kind)
    again = VectorIndex.from_bytes(index.to_bytes(), kind)
    assert again.kind == kind and len(again) == 300 and again.dim == 16
    a, b = index.search(data[:5], 7), again.search(data[:5], 7)
    for x, y in zip(a[1], b[1], strict=True):
        assert list(x) == list(y)


def test_from_bytes_rejects_garbage_and_the_wrong_kind():
    with pytest.raises(ValueError):
        VectorIndex.from_bytes(b"not a faiss index at all", "flat")
    flat = VectorIndex.build(unit_vectors(10, 8), "flat").to_bytes()
    with pytest.raises(ValueError):
        VectorIndex.from_bytes(flat, "hnsw")
    with pytest.raises(ValueError):
        VectorIndex.from_bytes(flat[: len(flat) // 2], "flat")


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError):
        VectorIndex.build(unit_vectors(4, 8), "annoy")  # type: ignore[arg-type]


def test_ivf_nlist_is_about_sqrt_n_with_enough_points_per_cluster():
    assert ivf_nlist(10) == 1
    assert ivf_nlist(10_000) == 100
    assert ivf_nlist(1_000) == 25  # sqrt would be 32, but FAISS wants ~39 training points per cluster


def test_with_params_changes_the_search_effort_without_touching_the_original():
    data, queries = unit_vectors(3000, 32, 7), unit_vectors(30, 32, 8)
    _, exact = VectorIndex.build(data, "flat").search(queries, 10)
    narrow = VectorIndex.build(data, "ivf", params=IndexParams(ivf_nprobe=1))
    wide = narrow.with_params(IndexParams(ivf_nprobe=narrow._index.nlist))  # probing every cluster is exact

    def recall(index):
        _, ids = index.search(queries, 10)
        return np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ids, exact, strict=True)])

    assert recall(wide) == 1.0
    assert recall(narrow) < 0.9  # still the narrow search after the wide copy was made
