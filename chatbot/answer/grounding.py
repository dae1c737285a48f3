"""Check each cited sentence against the passages by the words it shares with them, and fix what is off.

Small models often cite ``[1]`` out of habit, or cite nothing after a short answer such as "150". The
names and numbers in a sentence are the part that must come from a passage, and they survive translation
("2,500 delegates" / "2.500 delegasi"), so they are what we compare:

- a sentence's *terms* are its BM25 tokens (stop words removed, "2.500" = "2,500" = "2500");
- a passage *supports* a sentence by the share of those terms it contains, with numbers counted twice
  (a wrong number is a wrong answer);
- a sentence that cites nothing gets the best-supporting passage, if that passage holds at least one of
  its numbers or half of its terms;
- a sentence whose cited passages support it clearly less than another passage (by ``margin``) cites that
  passage instead: its citation then points at text that holds what it says.

Nothing here invents a citation for text that no passage supports: those sentences are left alone.

``unsupported_numbers`` finds the numbers an answer states that neither the passages nor the question
contain. On the dev set those were invented facts ("the Convention contains 4 articles", "stored for 10
years"), so the pipeline treats such an answer as a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.search.bm25 import tokenize
from chatbot.text import CITATION, PASSAGE_REFERENCE, append_citation, citation_numbers, sentence_pieces

_LIST_MARKER = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")  # "1. ..." at the start of a line
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)  # "47th" -> "47"
_PLAIN_NUMBER = re.compile(r"\d+(?:[./]\d+)*")


@dataclass(frozen=True)
class Grounded:
    text: str
    numbers: tuple[int, ...]  # cited passage numbers in order of first appearance
    changed: bool


def terms(text: str) -> set[str]:
    return set(tokenize(CITATION.sub(" ", text)))


def _cited(text: str, n_passages: int) -> list[int]:
    """The passage numbers ``text`` cites, in order, those out of range left out."""
    return [n for m in CITATION.finditer(text) for n in citation_numbers(m.group(2)) if 1 <= n <= n_passages]


def _weight(term: str) -> float:
    return 2.0 if any(ch.isdigit() for ch in term) else 1.0


def support(sentence_terms: set[str], passage_terms: set[str]) -> float:
    """The weighted share of the sentence's terms found in the passage (0 to 1)."""
    total = sum(_weight(t) for t in sentence_terms)
    if not total:
        return 0.0
    return sum(_weight(t) for t in sentence_terms if t in passage_terms) / total


def ground_citations(text: str, passages: Sequence[str], margin: float = 0.25) -> Grounded:
    """``text`` with each sentence's citations checked against ``passages`` (numbered from 1)."""
    passage_terms = [terms(p) for p in passages]
    out: list[str] = []
    changed = False
    for sentence in sentence_pieces(text, answer=True):
        if not sentence.strip():
            out.append(sentence)
            continue
        fixed = _ground_sentence(sentence, passage_terms, margin)
        changed |= fixed != sentence
        out.append(fixed)
    new_text = "".join(out)
    numbers = tuple(dict.fromkeys(_cited(new_text, len(passages))))
    return Grounded(new_text, numbers, changed)


def _ground_sentence(sentence: str, passage_terms: Sequence[set[str]], margin: float) -> str:
    found = terms(sentence)
    if not found or not passage_terms:
        return sentence
    scores = [support(found, p) for p in passage_terms]
    best = max(range(len(scores)), key=lambda i: scores[i])
    numbers = {t for t in found if any(ch.isdigit() for ch in t)}
    best_holds_number = bool(numbers & passage_terms[best])
    cited = _cited(sentence, len(passage_terms))
    if not cited:
        if scores[best] >= 0.5 or best_holds_number:
            return append_citation(sentence, best + 1)
        return sentence
    if scores[best] - max(scores[n - 1] for n in cited) >= margin and best + 1 not in cited:
        return append_citation(CITATION.sub("", sentence), best + 1)
    return sentence


# "2, 500": a thousands separator the model wrote with a space after it.
_SPACED_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3}), (\d{3})(?![\d.,]?\d)")


def _numbers(text: str) -> set[str]:
    text = PASSAGE_REFERENCE.sub(" ", text)  # "passage 28" names a passage: no claim
    text = _ORDINAL.sub(r"\1", _LIST_MARKER.sub(" ", CITATION.sub(" ", text)))
    return {t for t in tokenize(text) if _PLAIN_NUMBER.fullmatch(t)}


def unsupported_numbers(answer: str, passages: Sequence[str], question: str = "") -> set[str]:
    """Numbers in ``answer`` (normalised: "2,500" = "2.500" = "2500") found in no passage nor the question.
    A passage named by its number ("passage 28") is no number of the answer, and "2, 500" may be 2,500."""
    known = terms(question).union(*(terms(p) for p in passages))
    found = _numbers(answer) - known
    for m in _SPACED_THOUSANDS.finditer(answer):
        if _numbers(m.group(1) + m.group(2)) <= known:
            found -= _numbers(m.group(1)) | _numbers(m.group(2))
    return found
