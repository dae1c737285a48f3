"""Detect whether a question is Indonesian ("id") or English ("en").

A stop-word vote: short questions carry few words, so the lists hold the function and question words
people actually type ("siapa", "berapa", "apa" / "who", "how", "what"). It does not try to recognise
any other language: the product answers in Indonesian or English, and ties go to ``default``.
"""

from __future__ import annotations

import re

from chatbot.types import Language

_ID_WORDS = frozenset(
    ["apa", "apakah", "siapa", "siapakah", "berapa", "berapakah", "kapan", "kapankah", "dimana", "di", "mana", "mana", "bagaimana", "mengapa", "kenapa", "yang", "dan", "atau", "dengan", "untuk", "dari", "pada", "ke", "oleh", "dalam", "tentang", "ini", "itu", "tersebut", "adalah", "ialah", "tidak", "bukan", "belum", "sudah", "akan", "telah", "juga", "saja", "hanya", "karena", "sebagai", "seperti", "bisa", "dapat", "harus", "ada", "para", "sebuah", "satu", "negara", "berapa", "siapa", "jelaskan", "sebutkan", "apakah", "tahun", "kota", "yang", "mereka", "dia", "ia", "beliau", "kami", "kita", "saya", "anda", "menurut", "terhadap", "antara", "sejak", "hingga", "sampai", "setelah", "sebelum", "selama", "banyak", "berapa", "konvensi", "penandatanganan", "kejahatan", "siber", "upacara", "menandatangani", "dilaksanakan", "diselenggarakan", "tanggal", "bulan", "acara", "dunia", "maya"]
)
_EN_WORDS = frozenset(
    ["what", "who", "whom", "whose", "which", "when", "where", "why", "how", "is", "are", "was", "were", "be", "been", "the", "a", "an", "of", "to", "in", "on", "at", "for", "by", "with", "from", "about", "and", "or", "not", "did", "does", "do", "has", "have", "had", "will", "would", "can", "could", "should", "this", "that", "these", "those", "it", "its", "they", "their", "he", "she", "his", "her", "we", "our", "you", "your", "there", "many", "much", "did", "say", "said", "tell", "explain", "convention", "signing", "ceremony", "countries", "country", "signed", "year", "city", "crime", "cybercrime", "according", "between", "since", "until", "after", "before", "during", "first", "also", "only", "than", "then"]
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, default: Language = "id") -> Language:
    """Return "en" when English function words outnumber Indonesian ones, else "id"."""
    words = [w.lower() for w in _WORD.findall(text)]
    id_votes = sum(w in _ID_WORDS for w in words)
    en_votes = sum(w in _EN_WORDS for w in words)
    if en_votes > id_votes:
        return "en"
    if id_votes > en_votes:
        return "id"
    return default
