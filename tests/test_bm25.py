"""BM25: the tokenizer's handling of names, numbers and stop words, and known answers on the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.search.bm25 import BM25Index, char_ngrams, tokenize
from chatbot.types import Chunk

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def chunk(i: int, text: str) -> Chunk:
    return Chunk(chunk_id=f"c{i}", article_id=f"a{i}", title="", url="", publisher="", text=text, start=0,
                 end=len(text))


@pytest.mark.parametrize("text, expected", [
    ("Resolusi Majelis Umum PBB 74/247", ["resolusi", "majelis", "umum", "pbb", "74/247", "74", "247"]),
    ("lebih dari 2.500 delegasi", ["lebih", "2500", "delegasi"]),
    ("more than 2,500 delegates", ["more", "2500", "delegates"]),
    ("2,5 miliar", ["2.5", "miliar"]),
    ("negara-negara anggota", ["negara-negara", "negara", "anggota"]),
    ("Siapa yang memimpin delegasi Rusia?", ["memimpin", "delegasi", "rusia"]),
    ("Who led the Russian delegation?", ["led", "russian", "delegation"]),
    ("António GUTERRES", ["antonio", "guterres"]),
    ("tanggal 25-26 Oktober", ["tanggal", "25-26", "25", "26", "oktober"]),
    ("", []),
])
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_search_ranks_the_matching_passage_first_and_skips_zero_scores():
    index = BM25Index.build([chunk(0, "Konvensi ditandatangani oleh 72 negara."),
                             chunk(1, "Delegasi Rusia dipimpin oleh Alexander Gutsan."),
                             chunk(2, "Resolusi 74/247 tahun 2019 memulai negosiasi.")])
    assert index.search("Siapa Gutsan?", 5) == [(1, pytest.approx(index.search("Gutsan", 1)[0][1]))]
    assert index.search("resolusi 74/247", 3)[0][0] == 2
    assert index.search("kata yang tidak ada", 3) == []
    assert index.search("yang dan di", 3) == []  # only stop words
    assert index.search("Gutsan", 0) == []


def test_search_orders_by_score_and_respects_k():
    index = BM25Index.build([chunk(i, "siber " * (i + 1) + "kata lain " * 5) for i in range(6)])
    hits = index.search("siber", 4)
    assert len(hits) == 4
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_empty_index():
    assert BM25Index.build([]).search("Gutsan", 5) == []


@pytest.fixture(scope="module")
def real_chunks():
    from chatbot.embedders.fake import HashEmbedder
    from chatbot.ingest.chunking import split_article
    from chatbot.ingest.corpus import load_corpus

    count_tokens = HashEmbedder().count_tokens
    return [c for a in load_corpus(CORPUS).articles for c in split_article(a, count_tokens, 160, 32)]


@pytest.mark.parametrize("query, must_contain", [
    ("Resolusi 74/247", "74/247"),
    ("Gutsan", "Gutsan"),
    ("Siapa Alexander Gutsan?", "Alexander Gutsan"),
    ("72 negara menandatangani", "72 negara"),
    ("berapa delegasi hadir, 2.500?", "2.500"),
    ("2500 delegates", "2.500"),
])
def test_known_answers_on_the_real_corpus(real_chunks, query, must_contain):
    index = BM25Index.build(real_chunks)
    hits = index.search(query, 3)
    assert hits, query
    assert must_contain in real_chunks[hits[0][0]].text, (query, real_chunks[hits[0][0]].text[:200])


def test_char_ngrams_mark_word_ends_and_keep_numbers_whole():
    assert char_ngrams("Afrika") == ["_af", "afr", "fri", "rik", "ika", "ka_"]
    assert char_ngrams("72 negara") == ["72", "_ne", "neg", "ega", "gar", "ara", "ra_"]
    assert char_ngrams("PBB") == ["_pb", "pbb", "bb_"]
    assert char_ngrams("ok", n=4) == ["_ok_"]
    assert char_ngrams("yang dan di") == []  # stop words are gone before the n-grams


def test_char_ngram_index_matches_stems_spelt_differently_in_another_language():
    chunks = [chunk(0, "Delegasi Rusia dipimpin oleh Alexander Gutsan."),
              chunk(1, "Sebanyak 21 negara Afrika ikut menandatangani konvensi."),
              chunk(2, "Proses negosiasi berlangsung lima tahun.")]
    words, grams = BM25Index.build(chunks), BM25Index.build(chunks, analyzer=char_ngrams)
    assert words.search("African countries", 3) == []  # no word in common
    assert grams.search("African countries", 3)[0][0] == 1
    assert grams.search("How long did the negotiations last?", 3)[0][0] == 2
