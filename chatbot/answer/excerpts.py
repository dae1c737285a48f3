"""Shorten the passages shown to the model to the sentences that matter for the question.

Time to first token on a CPU grows with every prompt token, and the retrieved passages are most of the
prompt. Within a character budget, each passage keeps its sentences most similar to the question (cosine
of the embedder's vectors), in their original order, with "…" where sentences were left out. Every
passage keeps at least its best sentence, so the numbering ``[1]..[k]`` and the citations stay the same;
citations still point to the whole passage.

Sentences are ``chatbot.text.split_sentences``: an initial ("Mmamiloko T. Kubayi") does not end one.
``select_excerpts`` is a pure function over sentences and scores. ``SentenceScorer`` embeds sentences and
remembers their vectors (a bounded in-memory cache), because the same passages come back often.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from chatbot.embedders.base import Embedder
from chatbot.text import split_sentences

GAP = " … "


def select_excerpts(passages: Sequence[Sequence[str]], scores: Sequence[Sequence[float]],
                    budget_chars: int) -> list[str]:
    """Each passage's kept sentences, joined in order (with ``GAP`` where sentences were dropped).

    First every passage gets its best sentence; then the remaining sentences enter best-score first while
    they fit in ``budget_chars`` (characters of kept sentences, over all passages). A budget of 0 or less
    keeps everything.
    """
    if len(passages) != len(scores) or any(len(p) != len(s) for p, s in zip(passages, scores, strict=True)):
        raise ValueError("every sentence needs exactly one score")
    if budget_chars <= 0:
        return [" ".join(p) for p in passages]
    keep: list[set[int]] = [set() for _ in passages]
    used = 0
    for i, s in enumerate(scores):
        if s:
            best = max(range(len(s)), key=lambda j: s[j])
            keep[i].add(best)
            used += len(passages[i][best])
    rest = sorted(((s[j], i, j) for i, s in enumerate(scores) for j in range(len(s)) if j not in keep[i]),
                  key=lambda t: (-t[0], t[1], t[2]))
    for _, i, j in rest:
        size = len(passages[i][j]) + 1
        if used + size <= budget_chars:
            keep[i].add(j)
            used += size
    return [_join(p, k) for p, k in zip(passages, keep, strict=True)]


def _join(sentences: Sequence[str], keep: set[int]) -> str:
    out = ""
    previous = -1
    for j in sorted(keep):
        if out:
            out += " " if j == previous + 1 else GAP
        elif j > 0:
            out += GAP.lstrip()
        out += sentences[j]
        previous = j
    if previous < len(sentences) - 1 and out:
        out += GAP.rstrip()
    return out


class SentenceScorer:
    """Cosine similarity of a question to sentences, with sentence vectors cached (``cache_size`` at most)."""

    def __init__(self, embedder: Embedder, cache_size: int = 4096) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def vectors(self, sentences: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(s for s in sentences if s not in self._vectors))
        if missing:
            for s, v in zip(missing, self.embedder.embed_documents(missing), strict=True):
                self._vectors[s] = np.asarray(v, dtype=np.float32)
        for s in sentences:
            self._vectors.move_to_end(s)
        out = np.stack([self._vectors[s] for s in sentences]) if sentences else np.zeros((0, 0), np.float32)
        while len(self._vectors) > self.cache_size:
            self._vectors.popitem(last=False)
        return out

    def excerpts(self, queries: Sequence[str], texts: Sequence[str], budget_chars: int) -> list[str]:
        """``texts`` shortened to ``budget_chars`` characters in all (0: unchanged).

        A sentence scores its best similarity to any of ``queries``: for a follow-up, the question alone
        ("what did she say?") and the question with the conversation (which names "she")."""
        if budget_chars <= 0 or sum(len(t) for t in texts) <= budget_chars:
            return list(texts)
        if not queries:
            raise ValueError("at least one query is needed to score sentences")
        passages = [split_sentences(t) for t in texts]
        flat = [s for p in passages for s in p]
        if flat:
            qvecs = np.stack([self.embedder.embed_query(q) for q in dict.fromkeys(queries)])
            sims = (self.vectors(flat) @ qvecs.T).max(axis=1)
        else:
            sims = np.zeros(0)
        scores: list[list[float]] = []
        at = 0
        for p in passages:
            scores.append([float(x) for x in sims[at:at + len(p)]])
            at += len(p)
        return select_excerpts(passages, scores, budget_chars)
