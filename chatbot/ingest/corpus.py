"""Read the corpus folder: every ``*.txt`` file becomes a cleaned ``Article``, bad files are skipped with a
warning.

``read_article`` reads one file (the article's id is the file stem) and refuses (``CorpusError``, a sentence
naming the file) what cannot be an article: an empty or whitespace-only file, bytes that are not UTF-8,
binary data (NUL bytes), a file larger than ``max_bytes``, a line longer than ``max_line_chars``
(``Config.max_line_chars``; one huge line is a dump, not an article, and would become thousands of
passages), or a file with nothing left once the site boilerplate is removed. Terminal escape sequences
(ANSI: colours, "set the window title") and other control characters are removed from the text, with a
warning that names the file.

``load_corpus`` reads the folder in file-name order, skips bad files and exact duplicates (same cleaned
text as an earlier file) with a warning each, and refuses a missing folder or one without a usable
article. Hidden files (names starting with ".") are ignored.

Deliberately not done: no writing (the corpus folder is never modified), no recursion into sub-folders,
no encodings other than UTF-8 (a UTF-8 byte-order mark is accepted), no near-duplicate detection.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chatbot.errors import CorpusError
from chatbot.ingest.cleaning import clean_text, extract_metadata
from chatbot.types import Article

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_LINE_CHARS = 20_000
_SNIFF_BYTES = 8192
# ANSI escape sequences: CSI (colours, cursor moves), OSC (window title, hyperlinks; ended by BEL or ST, or
# by the end of the line), and the two-character ones; then any control character left other than tab,
# newline, carriage return and form feed (C0, DEL, C1).
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CorpusLoad:
    """The usable articles, sorted by id, and one warning per file that was skipped."""

    articles: tuple[Article, ...]
    warnings: tuple[str, ...]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or many control characters other than tab, newline, carriage return and form feed."""
    if b"\x00" in data:
        return True
    head = data[:_SNIFF_BYTES]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(head) // 10)


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CorpusError(f"{path} is {size:,} bytes, more than the limit of {max_bytes:,} bytes for one "
                              "article; split it into several files or raise the limit.")
        data = path.read_bytes()
    except CorpusError:
        raise
    except IsADirectoryError as err:
        raise CorpusError(f"{path} is a folder, not an article file; rename it or move it out of the "
                          "corpus.") from err
    except OSError as err:
        raise CorpusError(f"{path} cannot be read ({err.strerror or err}); check that it exists and that "
                          "you may read it.") from err
    if len(data) > max_bytes:  # the file grew between stat and read
        raise CorpusError(f"{path} is more than the limit of {max_bytes:,} bytes for one article; split it "
                          "into several files or raise the limit.")
    if not data.strip():
        raise CorpusError(f"{path} is empty (or only whitespace); put the article text in it or remove it.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(f"{path} is UTF-16 text, not UTF-8; save it as UTF-8, e.g. "
                          "`iconv -f UTF-16 -t UTF-8`.")
    if _looks_binary(data):
        raise CorpusError(f"{path} looks like a binary file, not text; the corpus takes UTF-8 .txt files "
                          "only.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorpusError(f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at position {err.start}); "
                          "save it as UTF-8, e.g. `iconv -f LATIN1 -t UTF-8`.") from err
    return text


def _check_lines(path: Path, text: str, max_line_chars: int) -> None:
    longest = max(map(len, text.splitlines()), default=0)
    if longest > max_line_chars:
        raise CorpusError(f"{path} has a line of {longest:,} characters, more than the limit of "
                          f"{max_line_chars:,} for one line (Config.max_line_chars); one huge line is not an "
                          "article: break it into paragraphs.")


def _strip_controls(path: Path, raw: str) -> tuple[str, tuple[str, ...]]:
    """``raw`` without terminal escape sequences and stray control characters, and a warning if it had any."""
    escapes = len(_ANSI.findall(raw))
    text = _ANSI.sub("", raw)
    controls = len(_CONTROL_CHARS.findall(text))
    if not escapes and not controls:
        return raw, ()
    text = _CONTROL_CHARS.sub("", text)
    what = " and ".join(part for part in (
        f"{escapes} terminal escape sequence{'s' if escapes != 1 else ''} (ANSI)" if escapes else "",
        f"{controls} control character{'s' if controls != 1 else ''}" if controls else "") if part)
    return text, (f"{path} held {what}; removed from the indexed text.",)


def read_article(path: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> tuple[Article, tuple[str, ...]]:
    """One cleaned article from ``path`` and warnings about what was removed from it (see the module
    docstring). Raises ``CorpusError`` for a bad file."""
    path = Path(path)
    raw = _read_text(path, max_bytes)
    _check_lines(path, raw, max_line_chars)
    raw, warnings = _strip_controls(path, raw)
    text = clean_text(raw)
    if not text.strip():
        raise CorpusError(f"{path} holds nothing but site boilerplate (source line, comment counter, "
                          "navigation); it has no article text to answer from.")
    meta = extract_metadata(raw)
    digest = _sha256(json.dumps([meta.title, meta.url, meta.publisher, meta.date, text], ensure_ascii=False))
    article = Article(article_id=path.stem, title=meta.title, url=meta.url, publisher=meta.publisher,
                      date=meta.date, text=text, source_path=str(path), content_hash=digest)
    return article, warnings


def load_corpus(folder: Path, max_bytes: int = DEFAULT_MAX_BYTES,
                max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> CorpusLoad:
    """Every usable ``*.txt`` article in ``folder``; bad files and duplicates are skipped with a warning."""
    folder = Path(folder)
    if not folder.exists():
        raise CorpusError(f"The corpus folder {folder} does not exist; create it and put the articles in "
                          "it as UTF-8 .txt files, or point --corpus at the folder that holds them.")
    if not folder.is_dir():
        raise CorpusError(f"The corpus path {folder} is a file, not a folder; point --corpus at the folder "
                          "that holds the article .txt files.")
    paths = sorted(p for p in folder.glob("*.txt") if not p.name.startswith("."))
    if not paths:
        raise CorpusError(f"The corpus folder {folder} holds no .txt file; put the articles in it as UTF-8 "
                          ".txt files, one article per file.")

    articles: list[Article] = []
    warnings: list[str] = []
    first_with_text: dict[str, Path] = {}
    for path in paths:
        try:
            article, notes = read_article(path, max_bytes, max_line_chars)
        except CorpusError as err:
            warnings.append(f"Skipped: {err}")
            continue
        warnings.extend(notes)
        key = _sha256(article.text)
        if key in first_with_text:
            warnings.append(f"Skipped: {path} has the same text as {first_with_text[key]}; remove one of "
                            "them.")
            continue
        first_with_text[key] = path
        articles.append(article)

    if not articles:
        reasons = " ".join(warnings)
        raise CorpusError(f"The corpus folder {folder} holds no usable article. {reasons} Fix or replace the "
                          "files, then run again.")
    return CorpusLoad(tuple(sorted(articles, key=lambda a: a.article_id)), tuple(warnings))


def corpus_hash(articles: Iterable[Article]) -> str:
    """sha256 over the articles' ids and content hashes, independent of their order."""
    h = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.article_id):
        h.update(f"{article.article_id}\0{article.content_hash}\n".encode())
    return h.hexdigest()
