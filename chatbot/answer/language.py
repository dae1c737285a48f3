"""Detect whether a question is Indonesian ("id") or English ("en").

A vote of the words in ``chatbot.text.LANGUAGE_CUES``: short questions carry few words, so the lists hold
the function and question words people actually type ("siapa", "berapa", "apa" / "who", "how", "what"),
and a few topic words of these articles. It does not try to recognise any other language: the product
answers in Indonesian or English, and ties go to ``default``.
"""

from __future__ import annotations

import re

from chatbot.text import LANGUAGE_CUES
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
