"""Cleaning and metadata: each boilerplate rule on the real articles, content kept verbatim, metadata
rules."""

from __future__ import annotations

import re

import pytest
from corpus_fixtures import EXPECTED_META, raw_articles

from chatbot.ingest.cleaning import (
    ArticleMeta,
    clean_text,
    extract_metadata,
    is_headline,
    publisher_of,
    shorten,
)

RAW = raw_articles()

# Every line of the five raw files that is not content, written out by hand.
BOILERPLATE_LINES = {
    "Komentar (0)",
    "No data",
    "TONTON VIDEONYA :",
    "W-HAI_7898.jpg",
    "W-HAI_7926.jpg",
    "W-HAI_7906.jpg",
    "Vietnam.vn - Nền tảng quảng bá Việt Nam",
    "Báo Nhân dânBáo Nhân dân25/10/2025",
    "(VNA/Vietnam+)",
    "Hai Lien",
}
NAV_HEADINGS = ("Dalam kategori yang sama", "Dari penulis yang sama")


def expected_paragraphs(raw: str) -> list[str]:
    """The content lines of a raw article by the hand-written lists, repeated lines taken once."""
    out: list[str] = []
    for line in (s.strip() for s in raw.splitlines()):
        if line in NAV_HEADINGS:
            break
        if not line or line in BOILERPLATE_LINES or line.startswith("Sumber: http"):
            continue
        if out and out[-1] == line:
            continue
        out.append(line)
    return out


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_cleaned_text_is_exactly_the_content_lines(article_id):
    cleaned = clean_text(RAW[article_id])
    assert cleaned.split("\n\n") == expected_paragraphs(RAW[article_id])


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_no_boilerplate_is_left(article_id):
    cleaned = clean_text(RAW[article_id])
    for marker in ("Komentar (", "No data", "TONTON VIDEONYA", "Vietnam.vn", "Sumber:", "http",
                   "Dalam kategori yang sama", "Dari penulis yang sama", "Bunga lili air",
                   "Ungu Tam Coc", "(VNA/Vietnam+)", "Báo Nhân dân"):
        assert marker not in cleaned, marker
    assert not re.search(r"^\S+\.(jpe?g|png)$", cleaned, re.MULTILINE | re.IGNORECASE)
    assert "\n\n\n" not in cleaned
    for paragraph in cleaned.split("\n\n"):
        assert paragraph and paragraph == paragraph.strip() and "\n" not in paragraph


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_every_sentence_of_the_raw_content_is_kept_verbatim(article_id):
    cleaned = clean_text(RAW[article_id])
    for paragraph in expected_paragraphs(RAW[article_id]):
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            assert sentence in cleaned


def test_evidence_quotes_captions_and_odd_spacing_survive():
    cleaned = {k: clean_text(v) for k, v in RAW.items()}
    assert ("Upacara penandatanganan tersebut dihadiri oleh lebih dari 2.500 delegasi dari 119 negara "
            "dan wilayah") in cleaned["002_4d8a15c3e53d0491"]
    assert "“Negosiasi Konvensi baru ini hanyalah permulaan." in cleaned["002_4d8a15c3e53d0491"]
    assert "(dikenal sebagai Konvensi Hanoi ) baru saja" in cleaned["000_053498be6e386e35"]
    # captions are content, with their photo credits
    assert "Sesi penutup upacara penandatanganan Konvensi Hanoi . Foto: Phuong Hoa/VNA" in \
        cleaned["002_4d8a15c3e53d0491"]
    assert "Wakil Menteri Luar Negeri Dang Hoang Giang memberikan sambutan pembukaan." in \
        cleaned["001_a5f55ca7898bd1fe"]
    # the headline of 003 stays in its text
    assert cleaned["003_abfa09d844576437"].startswith(
        "Menegaskan semangat dan aspirasi Vietnam di era digital\n\n")


def test_the_caption_printed_twice_is_kept_once():
    caption = ("Hanoi akan menjadi tuan rumah upacara penandatanganan Konvensi Perserikatan Bangsa-Bangsa "
               "Melawan Kejahatan Siber pada 25-26 Oktober 2025. (Tangkapan layar: TRUNG HUNG)")
    assert RAW["003_abfa09d844576437"].count(caption) == 2
    assert clean_text(RAW["003_abfa09d844576437"]).count(caption) == 1


def test_repeated_lines_further_apart_are_both_kept():
    raw = "Satu kalimat.\nKalimat lain.\nSatu kalimat.\n"
    assert clean_text(raw) == "Satu kalimat.\n\nKalimat lain.\n\nSatu kalimat."


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_cleaning_is_idempotent(article_id):
    once = clean_text(RAW[article_id])
    assert clean_text(once) == once


def test_whitespace_is_normalised_around_lines_only():
    raw = "\ufeff  Judul berita  \r\n\r\n\r\n\r\n Kalimat  pertama.   \n\t\nKalimat kedua.\r\n"
    assert clean_text(raw) == "Judul berita\n\nKalimat  pertama.\n\nKalimat kedua."


def test_author_signature_before_the_source_line_goes_but_a_subheading_stays():
    signed = "Kalimat isi.\nHai Lien\nSumber: https://baochinhphu.vn/x.htm"
    assert clean_text(signed) == "Kalimat isi."
    subheading = "Kalimat isi.\nKonsensus dan solidaritas\nSumber: https://nhandan.vn/x.html"
    assert clean_text(subheading) == "Kalimat isi.\n\nKonsensus dan solidaritas"
    no_source = "Kalimat isi.\nHai Lien"
    assert clean_text(no_source) == "Kalimat isi.\n\nHai Lien"


def test_boilerplate_only_text_cleans_to_nothing():
    assert clean_text("Komentar (0)\n\nNo data\nSumber: https://example.vn/a\n\n"
                      "Dalam kategori yang sama\nX") == ""


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_metadata_of_the_real_articles(article_id):
    title, url, publisher, date = EXPECTED_META[article_id]
    assert extract_metadata(RAW[article_id]) == ArticleMeta(url=url, publisher=publisher, title=title,
                                                            date=date)


@pytest.mark.parametrize("article_id", sorted(RAW))
def test_titles_are_short_and_come_from_the_text(article_id):
    meta = extract_metadata(RAW[article_id])
    assert 0 < len(meta.title) <= 120
    assert meta.title.removesuffix("…") in clean_text(RAW[article_id])
    assert "Foto:" not in meta.title


def test_without_a_source_line_url_and_publisher_are_empty():
    meta = extract_metadata("Judul\nIsi berita yang panjang.")
    assert (meta.url, meta.publisher, meta.title, meta.date) == ("", "", "Judul", None)


def test_publisher_is_the_host_without_www():
    assert publisher_of("https://www.VietnamPlus.vn/a-b.vnp") == "vietnamplus.vn"
    assert publisher_of("https://baotintuc.vn:443/thoi-su/x.htm") == "baotintuc.vn"
    assert publisher_of("") == ""


def test_a_byline_date_wins_over_dates_in_the_text():
    raw = "Judul\nPada 24 Desember 2024, Majelis Umum mengadopsi teks.\nBáo X 25/10/2025\nIsi."
    assert extract_metadata(raw).date == "2025-10-25"
    assert "Báo X" not in clean_text(raw)


@pytest.mark.parametrize(("text", "iso"), [
    ("Majelis Umum mengadopsi teks pada 24 Desember 2024.", "2024-12-24"),
    ("Upacara pada 25-26 Oktober 2025 di Hanoi.", "2025-10-25"),
    ("Signed on 3 March 2025 in Hanoi.", "2025-03-03"),
    ("Tanggal 31/02/2025 tidak ada, tetapi 1 Mei 2025 ada.", "2025-05-01"),
    ("Pada tanggal 25 Oktober, tanpa tahun.", None),
    ("Pada tahun 2019 negosiasi dimulai.", None),
])
def test_dates_in_the_text(text, iso):
    assert extract_metadata("Judul\n" + text).date == iso


def test_a_sentence_that_names_a_date_is_not_a_byline():
    raw = "Judul\nHanoi akan menjadi tuan rumah pada 25/10/2025 dan 26/10/2025 bersama delegasi dunia.\n"
    assert "25/10/2025" in clean_text(raw)


def test_title_rules():
    # a caption is skipped, a short line without final punctuation is a headline
    assert extract_metadata("Foto bersama. Foto: VGP\nSkala rekor\nIsi berita.").title == "Skala rekor"
    # a sentence is not a headline: its first sentence is the title
    assert (extract_metadata("Mmamiloko T. Kubayi berbicara. Lalu pulang.").title
            == "Mmamiloko T. Kubayi berbicara.")
    assert is_headline("Konsensus dan solidaritas")
    assert not is_headline("Kami sangat menghargai organisasi dan inisiatif global tersebut.")
    assert not is_headline(" ".join(["kata"] * 17))


def test_shorten_cuts_at_a_word_boundary():
    long = " ".join(["Konvensi"] * 30)
    short = shorten(long, 120)
    assert len(short) <= 120 and short.endswith("…") and long.startswith(short[:-1])
    assert short[:-1].split(" ") == ["Konvensi"] * len(short[:-1].split(" "))
    assert shorten("Pendek.", 120) == "Pendek."
