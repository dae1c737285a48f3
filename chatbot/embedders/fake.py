"""A deterministic, model-free embedder for tests: hashed bag of words and character trigrams.

Each lowercased word and each character trigram of a word (with ``#`` marking the word's edges) is hashed
with blake2b (stable across processes, unlike ``hash()``) into one of ``dim`` buckets with a +-1 sign; the
vector is L2-normalised. Texts that share words or word pieces therefore score high, which is enough to
exercise retrieval, refusal and citation paths in milliseconds. It knows no meaning, no synonyms and no
second language: never use it to judge retrieval quality.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
WORD_RE = re.compile(r"\w+", re.UNICODE)
TRIGRAM_WEIGHT = 0.5


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dim, (1.0 if value & 1 else -1.0)


class HashEmbedder:
    """``embed_query`` and ``embed_documents`` are the same function: the fake has no asymmetry."""

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError("the fake embedder needs dim >= 8")
        self.dim = dim
        self.spec = "fake" if dim == 256 else f"fake:{dim}"

    def _embed(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float64)
        for word in WORD_RE.findall(text.lower()):
            idx, sign = _bucket("w:" + word, self.dim)
            vec[idx] += sign
            padded = f"#{word}#"
            for i in range(len(padded) - 2):
                idx, sign = _bucket("t:" + padded[i:i + 3], self.dim)
                vec[idx] += sign * TRIGRAM_WEIGHT
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:  # no word at all: a fixed unit vector, so the output is always unit length
            idx, sign = _bucket("<empty>", self.dim)
            vec[idx] = sign
            norm = 1.0
        return (vec / norm).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._embed(t) for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(TOKEN_RE.findall(text))
