"""The embedder interface: text in, L2-normalised float32 vectors out.

Questions and passages are encoded asymmetrically (``embed_query`` / ``embed_documents``) so models
that need "query: " / "passage: " prefixes get them. Backends load their weights lazily on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    spec: str  # the configuration string that built it, recorded in the index manifest

    @property
    def dim(self) -> int:
        """The vectors' length."""

    def embed_query(self, text: str) -> np.ndarray:
        """One question -> a (dim,) float32 unit vector."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Passages -> an (n, dim) float32 array of unit vectors."""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (used to bound chunk sizes)."""
