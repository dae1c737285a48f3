"""Detect whether a question is Indonesian ("id") or English ("en").

A vote of the words in ``chatbot.text.LANGUAGE_CUES``: short questions carry few words, so the lists hold
the function and question words people actually type ("siapa", "berapa", "apa" / "who", "how", "what"),
and a few topic words of these articles. It does not try to recognise any other language: the product
answers in Indonesian or English, and ties go to ``default``.

``ArticleWords`` finds the articles' words left in an answer in the other language: the 1.5B model often
answers an English question in English but keeps an Indonesian title or quote ("headed by Wakil Perdana
Menteri ...", "with \"perangkat yang diperlukan ...\""), which the vote above, counting function words, does
not see. An article word is one the articles write in lower case (so a name is not one) that the question
does not use; English words the articles share ("global", "digital") come one or two to an answer, so a
few distinct ones are needed before an answer counts as mixed (``Config.mixed_language_words``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatbot.text import LANGUAGE_CUES, strip_citations
from chatbot.types import Language

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, default: Language = "id") -> Language:
    """Return "en" when English function words outnumber Indonesian ones, else "id"."""
    words = [w.lower() for w in _WORD.findall(text)]
    id_votes = sum(w in LANGUAGE_CUES["id"] for w in words)
    en_votes = sum(w in LANGUAGE_CUES["en"] for w in words)
    if en_votes > id_votes:
        return "en"
    if id_votes > en_votes:
        return "id"
    return default


class ArticleWords:
    """The lower-case words of the articles, to find them in an answer written in another language."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words = frozenset(w for text in texts for w in _WORD.findall(text) if w.islower() and len(w) > 2)

    def in_answer(self, answer: str, question: str) -> frozenset[str]:
        """The distinct article words of ``answer`` (outside its citations) that ``question`` does not use."""
        asked = {w.lower() for w in _WORD.findall(question)}
        found = {w.lower() for w in _WORD.findall(strip_citations(answer))}
        return frozenset(w for w in found if w in self.words and w not in asked)
