"""The text rules every stage shares, each defined once: citations, sentences, accents, function words and
numbers.

- **Citations.** ``CITATION`` finds a marker or a group of them as small models write them: ``[1]``,
  ``[1, 2]``, ``[1; 2]``, ``[1-2]``, ``[1 – 3]``, ``[1 dan 2]``, ``【1】``. ``citation_numbers`` reads a
  group's numbers (a range of fewer than ten expands: ``1-3`` -> 1, 2, 3). ``strip_citations`` removes the
  markers, ``append_citation`` places ``[n]`` before a sentence's final punctuation.
  ``PASSAGE_REFERENCE`` finds a passage named without brackets ("passage 28"); ``bracket_passage_references``
  writes it as a marker.
- **Sentences.** A sentence ends at ``.``, ``!``, ``?`` or ``…`` with any closing quotes or brackets (and
  citation markers) after it, before whitespace; a line break ends one too. A single capital before a period
  is an initial, not an end ("Mmamiloko T. Kubayi", "U.S."); "2.500" is not an end (no space follows).
  ``sentence_pieces`` cuts a text into pieces that join back to it exactly, ``split_sentences`` gives them
  whitespace-normalised, ``first_sentence`` the first. ``CHUNK_SENTENCE_END`` is the same rule as a
  separator for the chunker, which also cuts at ``;`` (a place to cut a long sentence, not a sentence end).
- **Accents.** ``fold`` is NFKC, case folding, and accents removed, with the letters that have no
  decomposition mapped by hand ("đ" -> "d", "ø" -> "o"): "Đặng" and "António" match "dang" and "antonio".
- **Function words.** ``FUNCTION_WORDS`` per language: the function and question words that name no topic
  (BM25 leaves them out). ``TOPICLESS_WORDS``: further words a follow-up question may consist of ("lagi",
  "sampaikan", "tell", "more"). ``LANGUAGE_CUES``: the words the language detector counts.
- **Numbers.** ``normalize_number``: thousands separators removed ("2.500" = "2,500" -> "2500"), a decimal
  comma read as a point ("2,5" -> "2.5"); ``normalize_numbers`` does it to every number in a text.

Pure functions and module constants; imports nothing from the package but ``types``. Deliberately not here:
tokenisation for search (``search/bm25.py``), which citations point at a passage (``answer/citations.py``),
number words ("tujuh puluh dua") and the other matching rules of the eval metrics.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from chatbot.types import Language

# --------------------------------------------------------------------------- citations

# The inside of a marker: numbers joined by "," ";" "-" "–" "dan" or "and".
_CITATION = r"[\[【]\s*(\d+(?:\s*(?:[,;]|-|–|dan|and)\s*\d+)*)\s*[\]】]"
CITATION = re.compile(r"(\s*)" + _CITATION)
"""A citation marker or group. Group 1: the whitespace before it; group 2: the numbers inside."""
_RANGE = re.compile(r"(\d+)\s*[-–]\s*(\d+)")
_DIGITS = re.compile(r"\d+")
MAX_RANGE = 10  # "[1-3]" is three citations; "[1-40]" is not a range of passages


def citation_numbers(inside: str) -> list[int]:
    """The numbers inside a citation group (``CITATION`` group 2), in order: "1, 3" -> [1, 3], "1-3" ->
    [1, 2, 3]. A range backwards or of ten or more numbers gives its two ends."""
    m = _RANGE.fullmatch(inside.strip())
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi and hi - lo < MAX_RANGE:
            return list(range(lo, hi + 1))
    return [int(x) for x in _DIGITS.findall(inside)]


def strip_citations(text: str) -> str:
    """``text`` without citation markers (and the whitespace before each), stripped."""
    return CITATION.sub("", text).strip()


# "passage 28", "passage number 16": a passage named by its number without brackets (group 1: the number).
PASSAGE_REFERENCE = re.compile(
    r"\b(?:passages?|paragraphs?|paragraf)\s+(?:(?:number|nomor|no\.)\s*)?(\d+)\b(?!\s*[\]】])",
    re.IGNORECASE)


def bracket_passage_references(text: str) -> str:
    """``text`` with "passage 28" written as "passage [28]", so that it reads as the citation it is."""
    return PASSAGE_REFERENCE.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + f"[{m.group(1)}]", text)


def says_something(text: str) -> bool:
    """``text`` holds a letter or a digit once its citation markers are gone: a reply of only "[3]." or
    punctuation says nothing, and is no answer."""
    return any(ch.isalnum() for ch in strip_citations(text))


def append_citation(text: str, n: int) -> str:
    """``text`` with ``[n]`` before its final ``.``, ``!`` or ``?`` (else at its end); trailing space kept."""
    body = text.rstrip()
    tail = text[len(body):]
    if body and body[-1] in ".!?":
        return f"{body[:-1]} [{n}]{body[-1]}{tail}"
    return f"{body} [{n}]{tail}"


# --------------------------------------------------------------------------- sentences

_NOT_INITIAL = r"(?<!\b[A-Z]\.)"  # "T." in "Mmamiloko T. Kubayi" is an initial
_CLOSERS = r"[\"'”’)\]]*"  # closing quotes and brackets stay with the sentence they close
CHUNK_SENTENCE_END = r"(?<=[.!?;…])" + _NOT_INITIAL + _CLOSERS + r"[ \t]+"
"""The chunker's separator (a regex source): a sentence end, or ";", and the spaces after it."""
_CITATIONS = r"(?:\s*" + _CITATION + r")*"  # markers after the end mark belong to the sentence they close
_END = r"(?<=[.!?…])" + _NOT_INITIAL
_SENTENCE_END = re.compile(_END + _CLOSERS + _CITATIONS + r"(?=\s|$)|(?=\n)")
_ANSWER_SENTENCE_END = re.compile(_END + _CITATIONS + r"(?=\s|$)")


def sentence_pieces(text: str, *, answer: bool = False) -> list[str]:
    """``text`` cut after each sentence end (see the module docstring); the pieces join back to ``text``,
    the whitespace between two sentences starting the second.

    ``answer=True`` cuts a model's answer as grounding always has: not after a closing quote and not at a
    line break (a list's "karena:\\n\\n1." stays one piece). Cutting there too changed the cited passages of
    3 answers stored in eval/reports (grounded again on their passages), so that waits for an eval run."""
    pieces: list[str] = []
    start = 0
    for m in (_ANSWER_SENTENCE_END if answer else _SENTENCE_END).finditer(text):
        if m.end() > start and text[start:m.end()].strip():
            pieces.append(text[start:m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace-normalised, empty ones dropped."""
    return [" ".join(p.split()) for p in sentence_pieces(text) if p.strip()]


def first_sentence(text: str) -> str:
    """``text`` up to the end of its first sentence (all of it when it has one sentence)."""
    pieces = sentence_pieces(text)
    return pieces[0] if pieces else text


# --------------------------------------------------------------------------- accents

# Letters with no Unicode decomposition, written without their stroke as people type them.
_LETTERS = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str) -> str:
    """``text`` for matching: NFKC, case folded, accents and strokes removed ("Đặng" -> "dang")."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------- function words


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTION_WORDS: Mapping[Language, frozenset[str]] = MappingProxyType({
    "id": _words(
        "yang dan di ke dari ini itu dengan untuk pada adalah ialah merupakan dalam akan juga atau oleh "
        "sebagai tersebut telah sudah bahwa karena agar serta maupun namun tetapi hingga sejak saat para "
        "sang si pun lah kah nya se apa apakah siapa siapakah berapa berapakah kapan kapankah mana manakah "
        "bagaimana mengapa kenapa dimana sebutkan jelaskan"),
    "en": _words(
        "the a an of in on at to for and or is are was were be been being by with as that this these those "
        "it its from into did does do has have had what who whom whose which when where why how about than "
        "then there their they he she his her him i you we our"),
})
"""Function words and question words, per language: they name no topic."""

TOPICLESS_WORDS = _words(
    "tidak saja lagi lain lainnya selain bisa dapat ada sampaikan menyampaikan katakan mengatakan kata "
    "bilang lebih lanjut tentang not will would can could say said tell explain else more other")
"""Besides ``FUNCTION_WORDS``, words a follow-up may consist of: "apa lagi?", "what else did he say?"."""

# The language vote counts the words people type in either language: question and function words,
# pronouns, modals, and a few topic words of these articles. It is its own list, as it was measured: of the
# 343 answers stored in eval/reports, counting FUNCTION_WORDS too changes the language detected for 4
# ("AS", Amerika Serikat, reads as English "as"), FUNCTION_WORDS alone for 16, and leaving out the topic
# words for 6 ("72 negara [1]" is Indonesian by "negara" alone). No eval question changes in any of these.
_LANGUAGE_WORDS: Mapping[Language, str] = {
    "id": "apa apakah siapa siapakah berapa berapakah kapan kapankah dimana di mana bagaimana mengapa "
          "kenapa yang dan atau dengan untuk dari pada ke oleh dalam tentang ini itu tersebut adalah ialah "
          "tidak bukan belum sudah akan telah juga saja hanya karena sebagai seperti bisa dapat harus ada "
          "para sebuah satu jelaskan sebutkan tahun kota mereka dia ia beliau kami kita saya anda menurut "
          "terhadap antara sejak hingga sampai setelah sebelum selama banyak tanggal bulan",
    "en": "what who whom whose which when where why how is are was were be been the a an of to in on at for "
          "by with from about and or not did does do has have had will would can could should this that "
          "these those it its they their he she his her we our you your there many much say said tell "
          "explain year city according between since until after before during first also only than then",
}
_LANGUAGE_TOPIC_WORDS: Mapping[Language, str] = {
    "id": "negara konvensi penandatanganan kejahatan siber upacara menandatangani dilaksanakan "
          "diselenggarakan acara dunia maya",
    "en": "convention signing ceremony countries country signed crime cybercrime",
}
LANGUAGE_CUES: Mapping[Language, frozenset[str]] = MappingProxyType(
    {lang: _words(_LANGUAGE_WORDS[lang]) | _words(_LANGUAGE_TOPIC_WORDS[lang]) for lang in ("id", "en")})
"""The words the language detector counts as a vote for each language."""


# --------------------------------------------------------------------------- numbers

THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+")
"""A number with thousands separators, one kind throughout: "2.500", "2,500", "1.000.000"."""
DECIMAL = re.compile(r"\d+[.,]\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def normalize_number(number: str) -> str:
    """One written number in a canonical form: "2.500" and "2,500" -> "2500", "2,5" -> "2.5"; anything else
    as it is."""
    if THOUSANDS.fullmatch(number):
        return number.replace(".", "").replace(",", "")
    if DECIMAL.fullmatch(number):
        return number.replace(",", ".")
    return number


def normalize_numbers(text: str) -> str:
    """``text`` with every number (digits joined by "." or ",") passed through ``normalize_number``."""
    return _NUMBER.sub(lambda m: normalize_number(m.group()), text)
