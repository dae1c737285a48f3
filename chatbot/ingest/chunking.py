"""Split cleaned articles into passages bounded in embedder tokens, with exact character offsets.

The splitting itself is langchain-text-splitters' ``RecursiveCharacterTextSplitter`` measuring length with
the embedder's ``count_tokens``. It cuts at paragraph breaks, line breaks and sentence ends (one level,
see ``SEPARATORS``), and only inside a sentence too long for a passage at ", ", then spaces; each separator
stays at the end of the piece before it, so sentences stay whole. Sentences are packed into passages of
at most ``chunk_tokens``; a passage begins with the last whole sentences of the one before, as many as fit
in ``overlap_tokens`` (none when the last sentence alone is longer).

What this module adds on top: offsets are tracked through the split, never searched for, so
``article.text[c.start:c.end] == c.text`` always holds and repeated text (the same sentence twice) cannot
put a passage in the wrong place; it overrides langchain's ``_split_text`` and ``_join_docs`` for that and
keeps its ``_merge_splits`` (packing and overlap), checked against langchain's own output in the tests.
Every passage is checked against the bound with ``count_tokens`` on its final text (the count of a
joined text can differ from the sum of its parts) and re-cut if needed; a single word longer than a
passage is cut between characters here, without overlap. Ids are content hashes of
article id, text and offsets, stable across runs.

Deliberately not done: no token counting of its own (the caller passes the embedder's counter), no
title prefixes or other changes to the passage text, no semantic (embedding-based) splitting.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Callable
from typing import cast

from langchain_text_splitters import RecursiveCharacterTextSplitter

from chatbot.text import CHUNK_SENTENCE_END
from chatbot.types import Article, Chunk

# Regular expressions, tried in order; each is kept at the end of the piece before it. Paragraph breaks,
# line breaks and sentence ends are one level, so passages are packed sentence by sentence (a paragraph
# break inside a passage stays in its text) and the overlap is whole sentences. With paragraphs as a level
# of their own, only paragraphs short enough to fit in the overlap were ever repeated, and the tail of a
# long paragraph became a small passage of its own.
# A sentence ends as ``chatbot.text`` says (an initial such as the "T." of "Mmamiloko T. Kubayi" does not end
# one), and here ";" ends one too.
SEPARATORS: tuple[str, ...] = (
    r"\n\n|\n|" + CHUNK_SENTENCE_END,  # paragraphs, lines, sentences
    r", ",
    r" ",
    r"",
)


def chunk_id(article_id: str, text: str, start: int, end: int) -> str:
    """First 16 hex digits of sha256(article id, text, start, end)."""
    key = f"{article_id}\0{text}\0{start}\0{end}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _check_settings(chunk_tokens: int, overlap_tokens: int) -> None:
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(f"overlap_tokens must be at least 0 and less than chunk_tokens ({chunk_tokens}), "
                         f"got {overlap_tokens}")


class _Piece(str):
    """A piece of the article text that remembers where it starts in it."""

    start: int

    def __new__(cls, text: str, start: int) -> _Piece:
        piece = super().__new__(cls, text)
        piece.start = start
        return piece

    @property
    def end(self) -> int:
        return self.start + len(self)

    def stripped(self) -> _Piece:
        text = self.strip()
        return _Piece(text, self.start + (len(self) - len(self.lstrip())) if text else self.start)


class _PositionalSplitter(RecursiveCharacterTextSplitter):
    """langchain's recursive splitter on pieces that carry their offsets.

    ``_split_text`` is langchain's algorithm (take the first separator present, recurse into pieces too
    long for a passage) cutting with ``re.finditer`` so that every piece knows where it starts; langchain's
    own ``_merge_splits`` packs the pieces and decides the overlap, and ``_join_docs`` turns each run of
    consecutive pieces into one stripped piece with its offset. No offset is ever found by searching, so
    repeated text (the same sentence twice) cannot confuse it.
    """

    def _pieces(self, text: _Piece, separator: str) -> list[_Piece]:
        pieces, last = [], 0
        for m in re.finditer(separator, text):  # each separator stays at the end of the piece before it
            if m.end() > last:
                pieces.append(_Piece(text[last:m.end()], text.start + last))
                last = m.end()
        if last < len(text):
            pieces.append(_Piece(text[last:], text.start + last))
        return pieces

    def _split_text(self, text: str, separators: list[str]) -> list[str]:
        if not isinstance(text, _Piece):
            raise TypeError("_PositionalSplitter splits positioned pieces only; call split_positioned")
        separator, rest = "", []
        for i, candidate in enumerate(separators):
            if candidate and re.search(candidate, text):
                separator, rest = candidate, separators[i + 1:]
                break
        if not separator:
            # One "word" with no separator left in it. langchain would merge it character by character
            # (a string object per character: gigabytes for a few megabytes of base64); ``_hard_cut``
            # cuts it instead, without overlap.
            return [text]
        final: list[str] = []
        small: list[_Piece] = []
        for piece in self._pieces(text, separator):
            if self._length_function(piece) < self._chunk_size:
                small.append(piece)
                continue
            if small:
                final.extend(self._merge_splits(small, ""))
                small = []
            final.extend(self._split_text(piece, rest) if rest else [piece])
        if small:
            final.extend(self._merge_splits(small, ""))
        return final

    def _join_docs(self, docs: list[str], separator: str) -> str | None:
        pieces = [d for d in docs if isinstance(d, _Piece)]
        if (separator or len(pieces) != len(docs)
                or any(b.start != a.end for a, b in itertools.pairwise(pieces))):
            raise RuntimeError("langchain-text-splitters merged pieces that are not consecutive; this "
                               "version of it is not supported by chatbot.ingest.chunking")
        joined = _Piece("".join(pieces), pieces[0].start).stripped() if pieces else None
        return joined or None

    def split_positioned(self, text: str) -> list[_Piece]:
        # typed list[str]: they are _Pieces
        pieces = self._split_text(_Piece(text, 0), list(self._separators))
        return [cast(_Piece, p).stripped() for p in pieces]


def _longest_fit(text: str, pos: int, count_tokens: Callable[[str], int], limit: int) -> int:
    """The largest ``end`` with ``count_tokens(text[pos:end]) <= limit`` (at least ``pos + 1``), by galloping
    then bisection, so only slices up to about twice a passage are ever counted."""
    if count_tokens(text[pos:pos + 1]) > limit:
        raise ValueError(f"chunk_tokens={limit} is too small: one character ({text[pos]!r}) already counts "
                         f"{count_tokens(text[pos:pos + 1])} tokens")
    size = len(text) - pos
    lo, hi = 1, size
    while lo < size:
        n = min(2 * lo, size)
        if count_tokens(text[pos:pos + n]) > limit:
            hi = n - 1
            break
        lo = n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[pos:pos + mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return pos + lo


def _hard_cut(piece: _Piece, count_tokens: Callable[[str], int], limit: int) -> list[_Piece]:
    """Cut ``piece`` into consecutive stripped pieces of at most ``limit`` tokens, each the longest that fits,
    ending at a space where there is one. For a word longer than a passage, and for the rare passage whose
    joined text counts more tokens than its parts did."""
    text, out = str(piece), []
    pos = len(text) - len(text.lstrip())
    while pos < len(text):
        end = _longest_fit(text, pos, count_tokens, limit)
        space = text.rfind(" ", pos, end + 1) if end < len(text) else -1
        part = _Piece(text[pos:space], piece.start + pos).stripped() if space > pos else None
        if not part or count_tokens(part) > limit:
            part = _Piece(text[pos:end], piece.start + pos).stripped()
        else:
            end = space
        if part:
            out.append(part)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def split_article(article: Article, count_tokens: Callable[[str], int], chunk_tokens: int,
                  overlap_tokens: int) -> list[Chunk]:
    """The passages of one article, in text order, each within ``chunk_tokens`` tokens."""
    _check_settings(chunk_tokens, overlap_tokens)
    counter = functools.lru_cache(maxsize=4096)(count_tokens)  # langchain counts each piece 2-3 times
    splitter = _PositionalSplitter(separators=list(SEPARATORS), is_separator_regex=True, keep_separator="end",
                                   chunk_size=chunk_tokens, chunk_overlap=overlap_tokens,
                                   length_function=counter, strip_whitespace=True)
    chunks: list[Chunk] = []
    for piece in splitter.split_positioned(article.text):
        if not piece:
            continue
        parts = [piece] if counter(piece) <= chunk_tokens else _hard_cut(piece, count_tokens, chunk_tokens)
        for part in parts:
            text, start, end = str(part), part.start, part.end
            if article.text[start:end] != text:  # cannot happen; never hand out a wrong offset
                raise RuntimeError(f"chunking lost track of a passage of {article.article_id} at {start}")
            chunks.append(Chunk(chunk_id=chunk_id(article.article_id, text, start, end),
                                article_id=article.article_id, title=article.title, url=article.url,
                                publisher=article.publisher, text=text, start=start, end=end))
    return chunks
