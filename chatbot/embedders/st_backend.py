"""Any sentence-transformers model (hub id or local folder) as an embedder.

Questions go through ``encode_query`` and passages through ``encode_document``, so prompts configured in
the model ("query" / "document" / "passage") are applied. E5-family models saved without prompts get the
"query: " / "passage: " prefixes they were trained with. Vectors are L2-normalised by sentence-transformers.
The package and the model load on first use; a missing package raises ``ModelError`` with the pip command.
This module does not download anything by itself beyond what sentence-transformers does for a hub id, and it
sets torch's thread count (a process-wide setting) to ``threads`` when it loads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from chatbot.errors import ModelError

PIP = 'pip install "sentence-transformers>=3" torch'
E5_PREFIXES = ("query: ", "passage: ")


class SentenceTransformersEmbedder:
    def __init__(self, model: str, threads: int, batch_size: int = 32) -> None:
        if not model.strip():
            raise ModelError("sentence-transformers needs a model: "
                             "sentence-transformers:<hub id or local path>.")
        self.model_name = model
        self.spec = f"sentence-transformers:{model}"
        self.threads = max(1, int(threads))
        self.batch_size = batch_size
        self._model = None
        self._prefixes: tuple[str, str] | None = None  # explicit prompts when the model configures none
        self._load_lock = threading.Lock()

    def _load(self):
        with self._load_lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as err:
                    raise ModelError("The sentence-transformers embedder needs extra packages; "
                                     f"run: {PIP}") from err
                import torch  # a dependency of sentence-transformers, so present once the import above worked
                torch.set_num_threads(self.threads)
                try:
                    model = SentenceTransformer(self.model_name, device="cpu")
                except Exception as err:
                    raise ModelError(
                        f"The sentence-transformers model {self.model_name!r} could not be loaded: "
                        f"{err}") from err
                # sentence-transformers >= 5 lists empty "query"/"document" prompts for models that set none.
                has_prompts = any(model.prompts.get(name)
                                  for name in ("query", "document", "passage", "corpus"))
                if not has_prompts and "e5" in self.model_name.lower():
                    self._prefixes = E5_PREFIXES
                self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        model = self._load()
        prompt = None if self._prefixes is None else self._prefixes[0 if query else 1]
        encode = model.encode_query if query else model.encode_document
        try:
            out = encode(texts, prompt=prompt, batch_size=self.batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
        except Exception as err:
            raise ModelError(f"The sentence-transformers model {self.model_name!r} failed to embed: "
                             f"{err}") from err
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], query=True)[0]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, query=False)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the model's tokenizer, without special tokens or prompt."""
        tokenizer = self._load().tokenizer
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
