"""Turn a question into ranked passages: dense search, BM25, or both fused by reciprocal rank fusion.

Every hit's ``score`` is the cosine similarity between the question and the passage (dense and hybrid
modes), whatever fused the ranking: it is the one number comparable across questions, which is what the
refusal threshold needs. In BM25-only mode the score is the BM25 score. This module does no generation
and keeps no per-user state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from chatbot.config import RetrievalMode
from chatbot.embedders.base import Embedder
from chatbot.search.bm25 import BM25Index, char_ngrams
from chatbot.search.vector_index import VectorIndex
from chatbot.types import Chunk, Hit

MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "bm25")


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[int]:
    """Fuse ranked lists of ids: score(id) = sum over lists of weight / (k + rank). Ties keep first-seen
    order."""
    scores: dict[int, float] = {}
    weights = weights if weights is not None else [1.0] * len(rankings)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, idx in enumerate(ranking, start=1):
            scores[idx] = scores.get(idx, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda idx: -scores[idx])


@dataclass(frozen=True)
class Retriever:
    embedder: Embedder
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # (n, dim) unit vectors, row i belongs to chunks[i]
    vector_index: VectorIndex
    bm25: BM25Index
    mode: RetrievalMode = "hybrid"
    candidates: int = 30
    rrf_k: int = 60
    corpus_language: str = "id"
    cross_lingual_bm25_weight: float = 0.15
    ngrams: BM25Index | None = None  # character trigram BM25, fused in for questions in another language
    cross_lingual_ngram_weight: float = 0.3
    rows: dict[str, int] = field(default_factory=dict, compare=False, repr=False)  # chunk_id -> vector row

    @classmethod
    def build(cls, embedder: Embedder, chunks: Sequence[Chunk], vectors: np.ndarray,
              vector_index: VectorIndex, *, mode: RetrievalMode = "hybrid", candidates: int = 30,
              rrf_k: int = 60, corpus_language: str = "id", cross_lingual_bm25_weight: float = 0.15,
              cross_lingual_ngram_weight: float = 0.3) -> Retriever:
        chunks = tuple(chunks)
        rows = {c.chunk_id: i for i, c in enumerate(chunks)}
        ngrams = BM25Index.build(chunks, analyzer=char_ngrams) if cross_lingual_ngram_weight > 0 else None
        return cls(embedder, chunks, vectors, vector_index, BM25Index.build(chunks), mode, candidates, rrf_k,
                   corpus_language, cross_lingual_bm25_weight, ngrams, cross_lingual_ngram_weight, rows)

    def similarities(self, text: str, chunks: Sequence[Chunk]) -> list[float]:
        """Cosine similarity of ``text`` (embedded as a query) to each of the given indexed chunks."""
        qvec = self.embedder.embed_query(text)
        return [float(self.vectors[self.rows[c.chunk_id]] @ qvec) for c in chunks]

    def search(self, query: str, k: int, mode: RetrievalMode | None = None,
               language: str | None = None) -> list[Hit]:
        """The ``k`` best passages. ``language`` is the question's; when it differs from the corpus's,
        BM25 (which needs shared words) gets ``cross_lingual_bm25_weight`` in the hybrid fusion, and a
        character-trigram BM25 (which matches shared stems spelt differently) joins it with
        ``cross_lingual_ngram_weight``."""
        mode = mode or self.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not self.chunks or not query.strip():
            return []
        n = max(k, self.candidates)
        if mode == "bm25":
            return [Hit(self.chunks[i], float(s), r)
                    for r, (i, s) in enumerate(self.bm25.search(query, k), 1)]
        qvec = self.embedder.embed_query(query)
        _, dense_ids = self.vector_index.search(qvec[None, :], n)
        dense_ranking = [int(i) for i in dense_ids[0]]
        if mode == "dense":
            ranking = dense_ranking
        else:
            rankings = [dense_ranking, [i for i, _ in self.bm25.search(query, n)]]
            weights = [1.0, 1.0]
            if language is not None and language != self.corpus_language:
                weights[1] = self.cross_lingual_bm25_weight
                if self.ngrams is not None:
                    rankings.append([i for i, _ in self.ngrams.search(query, n)])
                    weights.append(self.cross_lingual_ngram_weight)
            ranking = reciprocal_rank_fusion(rankings, self.rrf_k, weights)
        ranking = ranking[:k]
        sims = self.vectors[ranking] @ qvec if ranking else np.zeros(0)
        return [Hit(self.chunks[i], float(s), r)
                for r, (i, s) in enumerate(zip(ranking, sims, strict=True), 1)]
