"""Scoring functions for one answer or one ranking: pure functions, each returning a per-item score.

Matching text. Both sides go through ``normalize``: citation markers removed, case and accents folded
(``chatbot.text.fold``: "Lương Cường" matches "Luong Cuong" and "Đặng" matches "Dang"), numbers normalised
(``chatbot.text.normalize_numbers``: "2.500" == "2,500" == "2500", "2,5" == "2.5"), punctuation and
dashes turned into spaces ("25-26" -> "25 26"), and number words written as digits, Indonesian and English,
0-999 with ribu/thousand and juta/million ("tujuh puluh dua" == "seventy-two" == "72", "seratus sepuluh"
== "one hundred and ten" == "110").

A keyword alternative matches when it occurs in the normalised answer starting at a word boundary. It
must also end at a word boundary when it ends in a digit (an English ordinal suffix is allowed: "47" matches
"47th") or is at most three characters long: "40" does not match "140", "2040", "400" or "40.5", and "AI"
does not match "said". Longer alternatives may end inside a word, so stems work ("vulnerab" matches
"vulnerable", "deserve" matches "deserved").

Evidence. A passage (``Chunk``) *holds* a gold quote when, after collapsing whitespace, the quote is a
substring of the passage text, or when enough of the quote lies inside the passage:
  - with the article text (``articles``), the quote is located in the article (whitespace-tolerant) and
    its character span is intersected with the chunk's ``[start, end)`` span in the same article;
  - without it, the longest head of the quote the passage ends with and the longest tail of the quote
    the passage starts with are the covered pieces (a chunk boundary cut the quote).
"Enough" is at least ``EVIDENCE_MIN_SHARE`` (40%) of the quote or ``EVIDENCE_MIN_CHARS`` (60) of its
characters, so a quote split near its middle counts for both chunks, and a chunk that holds only a few
words at either end of the quote does not. Several passages hold a quote
together when the union of their pieces is enough (a quote split across two cited chunks is covered).
When ``article_ids`` is given, only passages of those articles count.

Deliberately not here: no model calls, no aggregation over groups (``aggregate.py``), no file access.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

from chatbot.answer.language import detect_language
from chatbot.evaluation.dataset import EvalItem
from chatbot.text import CITATION, fold, normalize_numbers
from chatbot.types import Answer, Chunk, Language

EVIDENCE_MIN_SHARE = 0.4
EVIDENCE_MIN_CHARS = 60
SHORT_KEYWORD_CHARS = 3  # alternatives this short must match a whole word

Articles = Mapping[str, str] | None  # article id -> cleaned article text, for locating quotes by offset


# --------------------------------------------------------------------------- normalisation

_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
_NOT_WORD = re.compile(r"[^\w/%\x00]|_")

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
          "delapan": 8, "sembilan": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
          "seventeen": 17, "eighteen": 18, "nineteen": 19, "sepuluh": 10, "sebelas": 11}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_BIG = {"thousand": 1000, "ribu": 1000, "million": 1_000_000, "juta": 1_000_000}
_SE_BIG = {"seribu": 1000, "sejuta": 1_000_000}


def _number_at(tokens: Sequence[str], i: int) -> tuple[int, int]:
    """Parse number words starting at ``tokens[i]``: (value, index after the number), or (0, i) if none."""
    total = current = 0
    last: str | None = None  # kind of the previous word: unit, teen, tens, hundred, big
    j = i
    if tokens[i].isdigit() and i + 1 < len(tokens) and tokens[i + 1] in _BIG:  # "2 ribu", "3 million"
        current, last, j = int(tokens[i]), "unit", i + 1
    while j < len(tokens):
        w = tokens[j]
        if w in _UNITS and last in (None, "tens", "hundred", "big"):
            current, last = current + _UNITS[w], "unit"
        elif w in _TEENS and last in (None, "hundred", "big"):
            current, last = current + _TEENS[w], "teen"
        elif w in _TENS and last in (None, "hundred", "big"):
            current, last = current + _TENS[w], "tens"
        elif w == "belas" and last == "unit" and current % 10:  # dua belas = 12
            current, last = current + 10, "teen"
        elif w == "puluh" and last == "unit" and current % 10:  # tujuh puluh = 70
            current, last = current + 9 * (current % 10), "tens"
        elif w in ("ratus", "hundred") and last == "unit" and current % 10:  # dua ratus = 200
            current, last = current + 99 * (current % 10), "hundred"
        elif w == "seratus" and last in (None, "big"):
            current, last = current + 100, "hundred"
        elif w in _SE_BIG and last is None:
            total, last = _SE_BIG[w], "big"
        elif w in _BIG and last in ("unit", "teen", "tens", "hundred") and current:
            total, current, last = total + current * _BIG[w], 0, "big"
        elif (w == "and" and last in ("hundred", "big") and j + 1 < len(tokens)
              and (tokens[j + 1] in _UNITS or tokens[j + 1] in _TEENS or tokens[j + 1] in _TENS)):
            pass  # "one hundred and ten"
        else:
            break
        j += 1
    return (total + current, j) if last is not None and j > i else (0, i)


def _words_to_digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        value, j = _number_at(tokens, i)
        if j > i:
            out.append(str(value))
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def normalize(text: str) -> str:
    """Text reduced for matching: lower case, no accents, no citation markers, canonical numbers, words
    separated by single spaces (see the module docstring)."""
    text = normalize_numbers(fold(CITATION.sub(" ", text)))
    text = _DECIMAL_POINT.sub("\x00", text)
    text = _NOT_WORD.sub(" ", text).replace("\x00", ".")
    return " ".join(_words_to_digits(text.split()))


# --------------------------------------------------------------------------- answer correctness


def _alternative_pattern(alternative: str) -> re.Pattern[str] | None:
    alt = normalize(alternative)
    if not alt:
        return None
    left = r"(?<![\w.])"
    if alt[-1].isdigit():  # a whole number, or an English ordinal of it: "47" matches "47th", not "470"
        right = r"(?=(?:st|nd|rd|th)?(?!\w))(?!\.\d)"
    else:
        right = r"(?!\w)" if len(alt) <= SHORT_KEYWORD_CHARS else ""
    return re.compile(left + re.escape(alt) + right)


def keyword_in(answer: str, alternative: str) -> bool:
    """Whether one keyword alternative occurs in the answer (both normalised; see the module docstring)."""
    pattern = _alternative_pattern(alternative)
    return pattern is not None and pattern.search(normalize(answer)) is not None


def keyword_fraction(answer: str, keyword_groups: Sequence[Sequence[str]]) -> float:
    """Share of keyword groups with at least one alternative in the answer (1.0 when there are none)."""
    if not keyword_groups:
        return 1.0
    text = normalize(answer)
    matched = 0
    for group in keyword_groups:
        patterns = [p for p in map(_alternative_pattern, group) if p is not None]
        matched += any(p.search(text) for p in patterns)
    return matched / len(keyword_groups)


def keyword_match(answer: str, keyword_groups: Sequence[Sequence[str]]) -> float:
    """1.0 when every keyword group has an alternative in the answer, else 0.0."""
    return 1.0 if keyword_fraction(answer, keyword_groups) == 1.0 else 0.0


_ARTICLES = frozenset({"a", "an", "the"})


def _f1_tokens(text: str) -> list[str]:
    return [t for t in normalize(text).split() if t not in _ARTICLES]


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 after ``normalize`` (English articles dropped, citation markers ignored)."""
    pred, gold = _f1_tokens(answer), _f1_tokens(reference)
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- refusals and language


def refusal_correct(item: EvalItem, answer: Answer) -> bool:
    """Refused exactly when the item is unanswerable."""
    return answer.refused != item.answerable


def over_refused(item: EvalItem, answer: Answer) -> bool:
    """Refused although the articles answer the question."""
    return item.answerable and answer.refused


_HEDGES = re.compile(
    r"\btidak (?:di|me|men|meng|meny)?(?:sebut|ebut|jelas|muat|cantum)\w*"
    r"|\btidak (?:ada|terdapat) informasi|\btidak diketahui"
    r"|\b(?:do|does|did)(?: not|n['’]t) (?:mention|say|state|specify|contain|provide|include|give)"
    r"|\bno information\b|\bnot (?:mentioned|specified|stated|provided)\b", re.IGNORECASE)


def hedged(text: str) -> bool:
    """The text says the articles don't tell, without being the pipeline's fixed refusal (a diagnostic)."""
    return bool(_HEDGES.search(text))


def language_match(expected: Language, text: str) -> bool | None:
    """Whether the text is in the expected language; ``None`` without a language signal ("72 [1].")."""
    text = CITATION.sub(" ", text)
    as_id, as_en = detect_language(text, "id"), detect_language(text, "en")
    if as_id != as_en:
        return None  # a tie: the detector has nothing to go on
    return as_id == expected


# --------------------------------------------------------------------------- evidence


def _ws(text: str) -> str:
    return " ".join(text.split())


def _spans(quote: str, text: str) -> list[tuple[int, int]]:
    words = quote.split()
    if not words:
        return []
    pattern = r"\s+".join(map(re.escape, words))
    return [m.span() for m in re.finditer(pattern, text)]


_WHOLE = ("whole",)


def _pieces(chunk: Chunk, quote: str, article_text: str | None) -> list[tuple[tuple, int, tuple[int, int]]]:
    """Where the quote lies in the chunk: (frame, frame length, covered piece in frame coordinates).

    A frame is one copy of the quote: the whole of it, an occurrence in the article, or its normalised text.
    """
    qn = _ws(quote)
    if not qn:
        return []
    cn = _ws(chunk.text)
    if qn in cn:
        return [(_WHOLE, 1, (0, 1))]
    if article_text is not None:
        out = []
        for s, e in _spans(quote, article_text):
            lo, hi = max(s, chunk.start), min(e, chunk.end)
            if hi > lo:
                out.append((("span", chunk.article_id, s, e), e - s, (lo - s, hi - s)))
        return out
    size = len(qn)
    head = next((n for n in range(min(size - 1, len(cn)), 0, -1) if cn.endswith(qn[:n])), 0)
    tail = next((n for n in range(min(size - 1, len(cn)), 0, -1) if cn.startswith(qn[size - n:])), 0)
    pieces = [(0, head)] if head else []
    pieces += [(size - tail, size)] if tail else []
    return [(("text",), size, p) for p in pieces]


def _union(intervals: Iterable[tuple[int, int]]) -> int:
    covered, end = 0, None
    for lo, hi in sorted(intervals):
        if end is None or lo > end:
            covered += hi - lo
            end = hi
        elif hi > end:
            covered += hi - end
            end = hi
    return covered


def quote_coverage(chunks: Iterable[Chunk], quote: str, articles: Articles = None,
                   article_ids: Collection[str] | None = None) -> tuple[float, int]:
    """(share, characters) of the quote the chunks hold together, for the best-covered copy of the quote."""
    frames: dict[tuple, tuple[int, list[tuple[int, int]]]] = {}
    for chunk in chunks:
        if article_ids is not None and chunk.article_id not in article_ids:
            continue
        text = articles.get(chunk.article_id) if articles is not None else None
        for frame, size, piece in _pieces(chunk, quote, text):
            if frame == _WHOLE:
                return 1.0, len(_ws(quote))
            frames.setdefault(frame, (size, []))[1].append(piece)
    best = (0.0, 0)
    for size, pieces in frames.values():
        chars = _union(pieces)
        best = max(best, (chars / size, chars))
    return best


def holds_evidence(chunks: Chunk | Iterable[Chunk], quote: str, articles: Articles = None,
                   article_ids: Collection[str] | None = None) -> bool:
    """Whether the passage (or passages together) hold the quote (see the module docstring)."""
    chunks = (chunks,) if isinstance(chunks, Chunk) else chunks
    share, chars = quote_coverage(chunks, quote, articles, article_ids)
    return share >= EVIDENCE_MIN_SHARE or chars >= EVIDENCE_MIN_CHARS


def holds_any(chunk: Chunk, quotes: Sequence[str], articles: Articles = None,
              article_ids: Collection[str] | None = None) -> bool:
    return any(holds_evidence(chunk, q, articles, article_ids) for q in quotes)


def citation_precision(cited: Sequence[Chunk], quotes: Sequence[str], articles: Articles = None,
                       article_ids: Collection[str] | None = None) -> float | None:
    """Share of cited passages that hold some gold quote; ``None`` if nothing is cited or nothing is gold."""
    if not cited or not quotes:
        return None
    return sum(holds_any(c, quotes, articles, article_ids) for c in cited) / len(cited)


def citation_recall(cited: Sequence[Chunk], quotes: Sequence[str], articles: Articles = None,
                    article_ids: Collection[str] | None = None) -> float | None:
    """Share of gold quotes held by the cited passages together; ``None`` when there is no gold quote."""
    if not quotes:
        return None
    return sum(holds_evidence(cited, q, articles, article_ids) for q in quotes) / len(quotes)


def evidence_ok(correct: bool, cited: Sequence[Chunk], quotes: Sequence[str], articles: Articles = None,
                article_ids: Collection[str] | None = None) -> bool:
    """A correct answer with at least one cited passage that holds gold evidence."""
    return correct and any(holds_any(c, quotes, articles, article_ids) for c in cited)


# --------------------------------------------------------------------------- retrieval


def relevance(ranked: Sequence[Chunk], quotes: Sequence[str], articles: Articles = None,
              article_ids: Collection[str] | None = None) -> list[bool]:
    """For each ranked passage, whether it holds some gold quote."""
    return [holds_any(c, quotes, articles, article_ids) for c in ranked]


def first_relevant_rank(flags: Sequence[bool]) -> int | None:
    return next((rank for rank, ok in enumerate(flags, start=1) if ok), None)


def recall_at(ranked: Sequence[Chunk], quotes: Sequence[str], k: int, articles: Articles = None,
              article_ids: Collection[str] | None = None) -> float | None:
    """Share of gold quotes held by the first ``k`` passages together; ``None`` without gold quotes."""
    return citation_recall(list(ranked[:k]), quotes, articles, article_ids)
