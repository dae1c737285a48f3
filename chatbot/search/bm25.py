"""Keyword search over the passages with BM25 (bm25s), with a tokenizer for Indonesian and English.

The tokenizer folds case and accents (``chatbot.text.fold``), splits on Unicode words and keeps what matters
for names and numbers:

- "74/247" and "A/RES/79/243" become the whole token *and* its parts ("74/247", "74", "247");
  hyphenated words likewise ("negara-negara" -> "negara-negara", "negara");
- numbers are ``chatbot.text.normalize_number``: "2.500" and "2,500" -> "2500", "2,5" -> "2.5";
- accents are removed ("António" -> "antonio", "Đà" -> "da"), as are lone letters ("Nam's" -> "nam's", "nam");
- the function words and question words of both languages (``chatbot.text.FUNCTION_WORDS``: yang, dan, di,
  the, of, siapa, who, ...) are dropped; content words of a question are kept.

There is no stemming (Indonesian affixes would need a real morphological analyser) and no persistence:
the index is rebuilt from the chunks at load time, which takes milliseconds for this corpus.

``char_ngrams`` is a second analyser for questions in another language than the articles: English and
Indonesian share many word stems that differ only in spelling ("negotiation" / "negosiasi", "African" /
"Afrika", "ratify" / "meratifikasi"), and character trigrams of the words match them where whole words
cannot (character n-gram retrieval, McNamee and Mayfield 2004).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chatbot.text import DECIMAL, FUNCTION_WORDS, THOUSANDS, fold, normalize_number
from chatbot.types import Chunk

STOP_WORDS = FUNCTION_WORDS["id"] | FUNCTION_WORDS["en"]

SPAN_RE = re.compile(r"[^\W_]+(?:[./,\-'’][^\W_]+)*")
COMPOUND_SPLIT_RE = re.compile(r"[/\-'’]")
DOT_SPLIT_RE = re.compile(r"[.,]")


def _expand(span: str) -> list[str]:
    if THOUSANDS.fullmatch(span) or DECIMAL.fullmatch(span):
        return [normalize_number(span)]
    if COMPOUND_SPLIT_RE.search(span):
        whole = "/".join(normalize_number(p) for p in span.split("/")) if "/" in span else span
        out = [whole]
        for part in dict.fromkeys(p for p in COMPOUND_SPLIT_RE.split(span) if p):  # "negara-negara": once
            out.extend(_expand(part))
        return out
    if DOT_SPLIT_RE.search(span):  # "example.com", "dll.lain": separators, not one word
        out = []
        for part in DOT_SPLIT_RE.split(span):
            if part:
                out.extend(_expand(part))
        return out
    return [span]


def tokenize(text: str) -> list[str]:
    """Search terms of ``text`` in order, stop words and lone letters removed, compounds followed by parts."""
    tokens: list[str] = []
    for span in SPAN_RE.findall(fold(text)):
        for token in _expand(span):
            if token not in STOP_WORDS and not (len(token) == 1 and not token.isdigit()):
                tokens.append(token)
    return tokens


def char_ngrams(text: str, n: int = 3) -> list[str]:
    """The character ``n``-grams of each search term, the word marked at both ends ("_afrika_" ->
    "_af", "afr", ..., "ka_"). Terms with a digit stay whole: "72" must not match "172"."""
    grams: list[str] = []
    for term in tokenize(text):
        if any(ch.isdigit() for ch in term):
            grams.append(term)
            continue
        marked = f"_{term}_"
        if len(marked) <= n:
            grams.append(marked)
        else:
            grams.extend(marked[i:i + n] for i in range(len(marked) - n + 1))
    return grams


Analyzer = Callable[[str], list[str]]


@dataclass(frozen=True)
class BM25Index:
    """``search`` returns (row, score) pairs, best first, for rows with a positive score."""

    n_docs: int
    _model: Any  # bm25s.BM25, or None for an empty corpus
    analyzer: Analyzer = tokenize

    @classmethod
    def build(cls, chunks: Sequence[Chunk], *, analyzer: Analyzer = tokenize, k1: float = 1.5,
              b: float = 0.75) -> BM25Index:
        import bm25s

        # bm25s sets its own logger to DEBUG when imported, which prints a line per index to any handler
        # (the app's log); its warnings still show.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        # Titles are not added: they changed one ranking, noise (docs/experiments.md, *Settings*).
        texts = [c.text for c in chunks]
        if not texts:
            return cls(0, None, analyzer)
        model = bm25s.BM25(k1=k1, b=b)
        model.index([analyzer(t) for t in texts], show_progress=False)
        return cls(len(texts), model, analyzer)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = self.analyzer(query)
        if self._model is None or k <= 0 or not terms:
            return []
        scores = np.asarray(self._model.get_scores(terms), dtype=np.float64)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # by score, then by row for stable ties
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
