"""Shared data for the corpus tests: where the real articles are, what their metadata must be, two counters.

The counters stand in for an embedder's ``count_tokens``: whitespace words, and words plus punctuation
marks (the regex the fake embedder uses).
"""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# article id -> (title, url, publisher, date), read off the raw files by hand.
EXPECTED_META = {
    "000_053498be6e386e35": (
        ("Upacara penandatanganan dan Konferensi Tingkat Tinggi tentang Konvensi Perserikatan Bangsa-Bangsa "
         "tentang…"),
        ("https://www.vietnamplus.vn/cong-uoc-ha-noi-dau-moc-lich-su-ve-an-ninh-mang-va-vai-tro-chu-nha-cua-"
         "viet-nam-post1073043.vnp"),
        "vietnamplus.vn",
        None,
    ),
    "001_a5f55ca7898bd1fe": (
        ("Vietnam akan menjadi tuan rumah upacara penandatanganan dan konferensi tingkat tinggi Konvensi "
         "Perserikatan…"),
        ("https://vietnamnet.vn/nhieu-nguyen-thu-lanh-dao-cac-nuoc-se-den-viet-nam-du-le-mo-cong-uoc-dac-"
         "biet-2450588.html"),
        "vietnamnet.vn",
        None,
    ),
    "002_4d8a15c3e53d0491": (
        "Skala rekor dan konsensus internasional",
        ("https://baotintuc.vn/thoi-su/cong-uoc-ha-noi-dau-an-lich-su-and-khat-vong-hop-tac-toan-cau-"
         "20251027094717715.htm"),
        "baotintuc.vn",
        None,
    ),
    "003_abfa09d844576437": (
        "Menegaskan semangat dan aspirasi Vietnam di era digital",
        "https://nhandan.vn/khang-dinh-ban-linh-khat-vong-viet-nam-trong-ky-nguyen-so-post917901.html",
        "nhandan.vn",
        "2025-10-25",
    ),
    "004_4e5a2821fd5f4d89": (
        ("Pada malam tanggal 25 Oktober, di Markas Besar Komite Sentral Partai, Sekretaris Jenderal To Lam "
         "menerima kepala…"),
        ("https://baochinhphu.vn/tong-bi-thu-to-lam-dua-khong-giant-mang-tro-thanh-khong-giant-cua-luat-"
         "phap-cua-hop-tac-va-phat-trien-102251025220110776.htm"),
        "baochinhphu.vn",
        None,
    ),
}

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def word_count(text: str) -> int:
    return len(text.split())


def regex_count(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def raw_articles() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}
