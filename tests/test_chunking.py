"""Chunking: exact offsets, the token bound, whole sentences, overlap, stable ids, and long odd inputs."""

from __future__ import annotations

import hashlib
import itertools
import re

import pytest
from corpus_fixtures import CORPUS, regex_count, word_count
from langchain_text_splitters import RecursiveCharacterTextSplitter

from chatbot.ingest.chunking import SEPARATORS, chunk_id, split_article
from chatbot.ingest.corpus import load_corpus, read_article
from chatbot.types import Article

SETTINGS = [(160, 32), (64, 16), (20, 5)]
COUNTERS = {"words": word_count, "regex": regex_count}
PIECE_RE = re.compile(SEPARATORS[0])  # paragraph breaks, line breaks and sentence ends


@pytest.fixture(scope="module")
def articles():
    return load_corpus(CORPUS).articles


def make_article(text: str, article_id: str = "t") -> Article:
    return Article(article_id=article_id, title="T", url="https://example.vn/t", publisher="example.vn",
                   date=None, text=text, source_path=f"{article_id}.txt", content_hash="0" * 64)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in PIECE_RE.split(text) if s.strip()]


@pytest.mark.parametrize("counter", sorted(COUNTERS))
@pytest.mark.parametrize(("size", "overlap"), SETTINGS)
def test_offsets_are_exact_and_the_bound_holds(articles, counter, size, overlap):
    count = COUNTERS[counter]
    for article in articles:
        chunks = split_article(article, count, size, overlap)
        assert chunks
        starts = [c.start for c in chunks]
        assert starts == sorted(set(starts))  # strictly increasing
        for c in chunks:
            assert article.text[c.start:c.end] == c.text
            assert c.text == c.text.strip() and c.text
            assert count(c.text) <= size


def lost_text(text: str, chunks) -> str:
    """The non-whitespace characters of ``text`` that no chunk covers."""
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.start:c.end] = b"\1" * (c.end - c.start)
    return "".join(ch for ch, hit in zip(text, covered, strict=True) if not hit).strip()


@pytest.mark.parametrize(("size", "overlap"), SETTINGS)
def test_no_text_is_lost(articles, size, overlap):
    for article in articles:
        assert lost_text(article.text, split_article(article, word_count, size, overlap)) == ""


def test_every_sentence_is_whole_in_some_chunk(articles):
    for article in articles:
        chunks = split_article(article, word_count, 160, 32)
        for sentence in sentences(article.text):
            assert any(sentence in c.text for c in chunks), sentence[:60]


def test_chunks_begin_and_end_at_sentence_boundaries(articles):
    for article in articles:
        text = article.text
        for c in split_article(article, regex_count, 160, 32):
            assert c.end == len(text) or PIECE_RE.match(text, c.end) or PIECE_RE.match(text, c.end - 1) \
                or text[c.end:c.end + 1] in ("\n", " ") and re.match(r"[.!?;…\"'”’)\]]", text[c.end - 1])
            before = text[:c.start]
            assert c.start == 0 or before.endswith(("\n", " ")) \
                and re.search(r"(\n|[.!?;…\"'”’)\]] +)$", before)


def test_consecutive_chunks_overlap_by_whole_sentences_when_they_fit(articles):
    pairs = overlapping = 0
    for article in articles:
        chunks = split_article(article, word_count, 160, 32)
        for x, y in itertools.pairwise(chunks):
            pairs += 1
            if y.start < x.end:
                overlapping += 1
                shared = article.text[y.start:x.end]
                assert word_count(shared) <= 32
                assert x.text.endswith(shared) and y.text.startswith(shared)
            else:
                # No overlap only when the last sentence of x alone is longer than the overlap, or it and
                # the first sentence of y together do not fit in a chunk.
                last, first = sentences(x.text)[-1], sentences(y.text)[0]
                assert word_count(last) > 32 or word_count(last) + word_count(first) > 160
    assert overlapping >= pairs // 2


def test_zero_overlap_means_disjoint_chunks(articles):
    for article in articles:
        chunks = split_article(article, word_count, 64, 0)
        assert all(y.start >= x.end for x, y in itertools.pairwise(chunks))


def test_ids_are_content_hashes_stable_across_runs_and_distinct(articles):
    first = [c for a in articles for c in split_article(a, word_count, 160, 32)]
    again = [c for a in articles for c in split_article(a, word_count, 160, 32)]
    assert first == again
    assert len({c.chunk_id for c in first}) == len(first)
    for c in first:
        key = f"{c.article_id}\0{c.text}\0{c.start}\0{c.end}".encode()
        assert (c.chunk_id == hashlib.sha256(key).hexdigest()[:16]
                == chunk_id(c.article_id, c.text, c.start, c.end))


def test_chunks_carry_the_article_metadata(articles):
    for article in articles:
        for c in split_article(article, word_count, 160, 32):
            assert (c.article_id, c.title, c.url, c.publisher) == (article.article_id, article.title,
                                                                   article.url, article.publisher)


@pytest.mark.parametrize(("size", "overlap"), SETTINGS)
def test_chunk_texts_are_exactly_what_langchain_makes(articles, size, overlap):
    for article in articles:
        expected = RecursiveCharacterTextSplitter(
            separators=list(SEPARATORS), is_separator_regex=True, keep_separator="end", chunk_size=size,
            chunk_overlap=overlap, length_function=regex_count).split_text(article.text)
        assert [c.text for c in split_article(article, regex_count, size, overlap)] == expected


@pytest.mark.parametrize("overlap", [0, 7])
def test_repeated_text_gets_the_right_offsets(overlap):
    # Searching each chunk's text forward from the previous start would place these chunks one sentence
    # apart instead of two when there is no overlap, and the end of the text would be lost.
    text = "\n\n".join(["Kalimat yang sama persis diulang di sini."] * 30)
    article = make_article(text)
    chunks = split_article(article, word_count, 16, overlap)
    assert len(chunks) > 10
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert chunks[-1].end == len(text) and lost_text(text, chunks) == ""


def test_one_huge_line_without_sentence_ends_is_bounded(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("Konvensi Hanoi ditandatangani oleh negara anggota di Hanoi, " * 3000,
                    encoding="utf-8")
    # a line limit above the corpus's: chunking must bound the passages anyway
    article, _ = read_article(path, max_line_chars=10**6)
    chunks = split_article(article, regex_count, 160, 32)
    assert len(chunks) > 100
    assert all(regex_count(c.text) <= 160 and article.text[c.start:c.end] == c.text for c in chunks)
    assert chunks[-1].end == len(article.text)
    # overlapping, in order
    assert all(x.start < y.start < x.end < y.end for x, y in itertools.pairwise(chunks))


def test_one_huge_word_is_cut_between_characters():
    text = "x" * 5000
    chunks = split_article(make_article(text), lambda s: (len(s) + 3) // 4, 100, 10)
    assert [len(c.text) for c in chunks] == [400] * 12 + [200]
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert all(y.start == x.end for x, y in itertools.pairwise(chunks))  # consecutive, no overlap


def test_a_megabyte_without_spaces_is_cut_quickly():
    text = "QmFzZTY0" * 150_000  # 1.2 MB, e.g. a pasted base64 image: one "word"
    chunks = split_article(make_article("Judul.\n\n" + text), lambda s: (len(s) + 3) // 4, 160, 32)
    assert chunks[0].text == "Judul."
    assert all(len(c.text) <= 640 for c in chunks) and chunks[-1].end == len(text) + 8
    assert "".join(c.text for c in chunks[1:]) == text


def test_a_long_word_inside_normal_text_is_cut_and_the_rest_is_whole():
    word = "x" * 300
    text = f"Kalimat pertama di sini. Kata panjang {word} ada. Kalimat terakhir."
    chunks = split_article(make_article(text), lambda s: (len(s) + 3) // 4, 20, 4)
    assert all((len(c.text) + 3) // 4 <= 20 and text[c.start:c.end] == c.text for c in chunks)
    assert any(c.text == "Kalimat pertama di sini." for c in chunks)
    assert chunks[-1].text.endswith("Kalimat terakhir.")
    assert lost_text(text, chunks) == ""


def test_the_bound_holds_for_a_counter_that_is_not_additive():
    # Counting a joined text gives more than the sum of its parts: the splitter alone would overshoot.
    def count(s: str) -> int:
        return len(s.split()) + len(s) // 40

    text = " ".join(f"Kalimat nomor {i} tentang Konvensi Hanoi." for i in range(200))
    chunks = split_article(make_article(text), count, 30, 6)
    assert all(count(c.text) <= 30 and text[c.start:c.end] == c.text for c in chunks)
    assert chunks[-1].end == len(text)


def test_an_empty_text_has_no_chunks():
    assert split_article(make_article(""), word_count, 10, 2) == []


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_bad_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        split_article(make_article("Satu. Dua."), word_count, size, overlap)


def test_a_bound_below_one_character_is_refused():
    with pytest.raises(ValueError, match="too small"):
        split_article(make_article("abc def"), lambda s: 5 * len(s), 3, 0)
