"""Reading the corpus folder: the real articles, each kind of bad file, duplicates, and the corpus hash."""

from __future__ import annotations

import dataclasses
import os

import pytest
from corpus_fixtures import CORPUS, EXPECTED_META

from chatbot.errors import CorpusError
from chatbot.ingest.cleaning import clean_text
from chatbot.ingest.corpus import CorpusLoad, corpus_hash, load_corpus, read_article

ARTICLE = ("Judul berita\nKonvensi Hanoi ditandatangani oleh 72 negara. Lebih dari 2.500 delegasi hadir.\n"
           "Sumber: https://www.example.vn/berita")


def write(folder, name, data):
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def test_the_real_corpus_loads_with_its_metadata():
    loaded = load_corpus(CORPUS)
    assert isinstance(loaded, CorpusLoad)
    assert loaded.warnings == ()
    assert [a.article_id for a in loaded.articles] == sorted(EXPECTED_META)
    for article in loaded.articles:
        title, url, publisher, date = EXPECTED_META[article.article_id]
        assert (article.title, article.url, article.publisher, article.date) == (title, url, publisher, date)
        raw = (CORPUS / f"{article.article_id}.txt").read_text(encoding="utf-8")
        assert article.text == clean_text(raw)
        assert article.source_path == str(CORPUS / f"{article.article_id}.txt")
        assert len(article.content_hash) == 64
    assert len({a.content_hash for a in loaded.articles}) == 5


def test_content_hash_is_stable_and_follows_text_and_metadata(tmp_path):
    path = write(tmp_path, "a.txt", ARTICLE)
    first = read_article(path)[0]
    assert read_article(path)[0].content_hash == first.content_hash
    write(tmp_path, "a.txt", ARTICLE.replace("72 negara", "73 negara"))
    assert read_article(path)[0].content_hash != first.content_hash
    write(tmp_path, "a.txt", ARTICLE.replace("example.vn", "example.org"))  # same text, other URL
    changed = read_article(path)[0]
    assert changed.text == first.text and changed.content_hash != first.content_hash


def test_an_ordinary_article_file(tmp_path):
    article = read_article(write(tmp_path, "001_x.txt", ARTICLE))[0]
    assert article.article_id == "001_x"
    assert (article.title, article.publisher, article.date) == ("Judul berita", "example.vn", None)
    assert article.text.endswith("2.500 delegasi hadir.")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    article = read_article(write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + ARTICLE.encode()))[0]
    assert article.title == "Judul berita"


@pytest.mark.parametrize(("data", "reason"), [
    ("", "is empty"),
    (" \n\n\t  \n", "is empty"),
    (b"Konvensi Hanoi di caf\xe9 Hanoi.\n", "not UTF-8"),
    ("Konvensi Hanoi.".encode("utf-16"), "UTF-16"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    ("Komentar (0)\nNo data\nSumber: https://example.vn/a\n", "nothing but site boilerplate"),
])
def test_bad_files_are_refused_with_the_file_and_the_reason(tmp_path, data, reason):
    path = write(tmp_path, "bad.txt", data)
    with pytest.raises(CorpusError, match=reason) as err:
        read_article(path)
    assert str(path) in str(err.value)


def test_a_file_above_the_size_limit_is_refused(tmp_path):
    path = write(tmp_path, "big.txt", ARTICLE * 10)
    with pytest.raises(CorpusError, match="limit") as err:
        read_article(path, max_bytes=100)
    assert str(path) in str(err.value)
    assert read_article(path, max_bytes=10_000)[0].text


def test_a_folder_named_like_an_article_is_refused(tmp_path):
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(CorpusError, match="folder"):
        read_article(tmp_path / "dir.txt")


def test_one_huge_line_is_refused_unless_the_limit_allows_it(tmp_path):
    line = "Konvensi Hanoi ditandatangani oleh 72 negara di Hanoi, " * 40_000  # about 2.2 MB, no newline
    path = write(tmp_path, "huge.txt", line)
    with pytest.raises(CorpusError, match=r"huge.txt has a line of 2,200,000 characters.*limit of 20,000"):
        read_article(path)
    article = read_article(path, max_line_chars=len(line))[0]
    assert article.text == line.strip()
    assert len(article.title) <= 120


def test_load_corpus_skips_bad_files_with_a_warning_each(tmp_path):
    write(tmp_path, "a_good.txt", ARTICLE)
    write(tmp_path, "b_empty.txt", "")
    write(tmp_path, "c_latin1.txt", b"caf\xe9\n")
    write(tmp_path, "d_binary.txt", b"\x00\x01\x02")
    write(tmp_path, "notes.md", "not an article")
    write(tmp_path, ".hidden.txt", "Kalimat tersembunyi.")
    loaded = load_corpus(tmp_path)
    assert [a.article_id for a in loaded.articles] == ["a_good"]
    assert len(loaded.warnings) == 3
    for name, reason in (("b_empty.txt", "empty"), ("c_latin1.txt", "UTF-8"), ("d_binary.txt", "binary")):
        assert any(name in w and reason in w for w in loaded.warnings), name


def test_a_duplicate_article_is_skipped_naming_both_files(tmp_path):
    write(tmp_path, "a.txt", ARTICLE)
    write(tmp_path, "b.txt", ARTICLE + "\n\nKomentar (0)\n")  # same cleaned text, other boilerplate
    write(tmp_path, "c.txt", ARTICLE.replace("72", "73"))
    loaded = load_corpus(tmp_path)
    assert [a.article_id for a in loaded.articles] == ["a", "c"]
    (warning,) = loaded.warnings
    assert "b.txt" in warning and "a.txt" in warning and "same text" in warning


def test_articles_are_sorted_by_id(tmp_path):
    for name in ("c.txt", "a.txt", "b.txt"):
        write(tmp_path, name, ARTICLE.replace("72", str(len(name) + ord(name[0]))))
    assert [a.article_id for a in load_corpus(tmp_path).articles] == ["a", "b", "c"]


def test_a_missing_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(CorpusError, match="does not exist") as err:
        load_corpus(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value)


def test_a_file_given_as_the_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="not a folder"):
        load_corpus(write(tmp_path, "a.txt", ARTICLE))


def test_a_folder_without_txt_files_is_an_error(tmp_path):
    write(tmp_path, "notes.md", ARTICLE)
    with pytest.raises(CorpusError, match="no .txt file"):
        load_corpus(tmp_path)


def test_a_folder_with_no_usable_article_is_an_error_with_the_reasons(tmp_path):
    write(tmp_path, "a.txt", "")
    write(tmp_path, "b.txt", b"\x00")
    with pytest.raises(CorpusError, match="no usable article") as err:
        load_corpus(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "a.txt" in message and "b.txt" in message


def test_loading_never_modifies_the_files(tmp_path):
    for name, data in (("a.txt", ARTICLE), ("b.txt", ""), ("c.txt", b"caf\xe9"), ("d.txt", ARTICLE)):
        write(tmp_path, name, data)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    load_corpus(tmp_path)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert before == after


def test_the_corpus_hash_follows_ids_and_contents_but_not_order():
    articles = load_corpus(CORPUS).articles
    h = corpus_hash(articles)
    assert len(h) == 64 and h == corpus_hash(articles)
    assert corpus_hash(reversed(articles)) == h
    assert corpus_hash(articles[:-1]) != h
    edited = dataclasses.replace(articles[0], content_hash="0" * 64)
    assert corpus_hash((edited, *articles[1:])) != h
    renamed = dataclasses.replace(articles[0], article_id="zzz")
    assert corpus_hash((renamed, *articles[1:])) != h


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_skipped(tmp_path):
    write(tmp_path, "a.txt", ARTICLE)
    locked = write(tmp_path, "b.txt", ARTICLE.replace("72", "99"))
    locked.chmod(0)
    loaded = load_corpus(tmp_path)
    assert [a.article_id for a in loaded.articles] == ["a"]
    assert "b.txt" in loaded.warnings[0] and "cannot be read" in loaded.warnings[0]
