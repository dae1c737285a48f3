"""Turn a raw scraped article into clean text and metadata. Pure functions on strings: no I/O.

``clean_text`` removes the news sites' boilerplate line by line and keeps every line of real content
verbatim (only the whitespace at its ends is stripped). What counts as boilerplate:

- the site banner ``Vietnam.vn - Nền tảng quảng bá Việt Nam``;
- comment counters (``Komentar (0)``), ``No data`` lines, ``TONTON VIDEONYA :``;
- bare image file names on a line of their own (``W-HAI_7898.jpg``);
- the ``Sumber: <url>`` line (the URL goes to the metadata);
- a wire-agency credit alone on a line, such as ``(VNA/Vietnam+)``;
- a byline with a date, such as ``Báo Nhân dânBáo Nhân dân25/10/2025`` (the date goes to the metadata);
- an author signature (one to four capitalised words, no punctuation) right before the ``Sumber:`` line;
- the navigation lists from ``Dalam kategori yang sama`` / ``Dari penulis yang sama`` to the end;
- a line that repeats the previous content line exactly (a caption printed twice).

Photo captions ("... Foto: Phuong Hoa/VNA") are content and stay. Each remaining line is one paragraph;
paragraphs are joined by one blank line (``"\\n\\n"``), so a paragraph never contains a newline.

``extract_metadata`` finds the source URL, the publisher (the URL's domain without ``www.``), a title and
a date. Title rule: skip photo captions; if the first remaining line is short (at most 16 words and 150
characters) and does not end in punctuation, it is a headline and becomes the title (article 003's
"Menegaskan semangat dan aspirasi Vietnam di era digital"; article 002 has no headline of its own, so
its first subheading "Skala rekor dan konsensus internasional" serves); otherwise the title is the first
sentence of that line (``chatbot.text.first_sentence``), cut at a word boundary to at most 120
characters. Date rule: the date of a byline line if there is one, else the first full date (day, month and
year) stated in the text; day-first numeric dates (25/10/2025) and Indonesian or English month names
(24 Desember 2024).

Deliberately not done: no Unicode normalisation, no change of characters inside a line, no removal of
near-duplicate paragraphs (a pull quote that rephrases a paragraph is content), no guessing of dates from
URLs, no language detection.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from chatbot.text import first_sentence

TITLE_MAX_CHARS = 120
HEADLINE_MAX_WORDS = 16
HEADLINE_MAX_CHARS = 150

_NAV_HEADING = re.compile(
    r"^(dalam kategori yang sama|dari penulis yang sama|in the same category|from the same author)\s*:?$",
    re.IGNORECASE,
)
_BANNER = re.compile(r"^Vietnam\.vn\s+-\s+.{0,60}$")
_COMMENTS = re.compile(r"^(komentar|comments?|bình luận)\s*\(\d+\)$", re.IGNORECASE)
_NO_DATA = re.compile(r"^no data$", re.IGNORECASE)
_VIDEO = re.compile(r"^(tonton videonya|tonton video|watch the video)\s*:?$", re.IGNORECASE)
_IMAGE_FILE = re.compile(r"^[\w.()\-]+\.(jpe?g|png|gif|webp|bmp|avif|svg)$", re.IGNORECASE)
_SOURCE = re.compile(r"^(sumber|source|nguồn)\s*:\s*(?P<url>https?://\S+)$", re.IGNORECASE)
_AGENCY_CREDIT = re.compile(r"^\(\s*[A-Z][\w+.&-]*(\s*/\s*[A-Z][\w+.&-]*)*\s*\)$")
_CAPTION = re.compile(r"\b(foto|photo|ảnh|tangkapan layar)\s*:", re.IGNORECASE)

_MONTHS = {
    "januari": 1, "january": 1, "jan": 1,
    "februari": 2, "february": 2, "feb": 2, "pebruari": 2,
    "maret": 3, "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "agustus": 8, "august": 8, "agu": 8, "agt": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nopember": 11, "nov": 11,
    "desember": 12, "december": 12, "des": 12, "dec": 12,
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "25/10/2025", "25-10-2025", "25.10.2025" (day first, as in Indonesian and Vietnamese) or ISO "2025-10-25".
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?!\d)"
                           r"|(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
# "24 Desember 2024", "25-26 Oktober 2025" (a range: its first day).
_NAMED_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?\s+({_MONTH_NAMES})\.?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)


@dataclass(frozen=True)
class ArticleMeta:
    """What an article says about itself. ``url``/``publisher`` are "" when there is no source line."""

    url: str
    publisher: str
    title: str
    date: str | None  # ISO yyyy-mm-dd


@dataclass(frozen=True)
class _Scan:
    paragraphs: tuple[str, ...]
    url: str
    byline_dates: tuple[str, ...]


def _raw_lines(raw: str) -> list[str]:
    text = raw.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.strip() for line in text.split("\n")]


def _dates_in(text: str) -> list[tuple[int, str]]:
    """(position, ISO date) of every valid full date in ``text``."""
    found = []
    for m in _NUMERIC_DATE.finditer(text):
        if m.group(1):
            day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        else:
            year, month, day = int(m.group(5)), int(m.group(6)), int(m.group(7))
        found.append((m.start(), m.end(), year, month, day))
    for m in _NAMED_DATE.finditer(text):
        day, month, year = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3))
        found.append((m.start(), m.end(), year, month, day))
    out = []
    for start, _end, year, month, day in sorted(found):
        try:
            out.append((start, _dt.date(year, month, day).isoformat()))
        except ValueError:
            continue
    return out


def _byline_date(line: str) -> str | None:
    """The date of a short line that is only a byline and a date (no sentence), else None."""
    if len(line) > 100:
        return None
    dates = _dates_in(line)
    if not dates:
        return None
    rest = _NAMED_DATE.sub(" ", _NUMERIC_DATE.sub(" ", line))
    rest = re.sub(r"\b\d{1,2}[:.]\d{2}\b", " ", rest)  # a time of day
    if len(rest.split()) > 6 or re.search(r"[.!?]", rest):
        return None
    return dates[0][1]


def _is_signature(line: str) -> bool:
    """One to four capitalised words and nothing else: an author's name."""
    words = line.split(" ")
    return 1 <= len(words) <= 4 and all(re.fullmatch(r"[^\W\d_][\w'’-]*", w) and w[0].isupper()
                                        for w in words)


def _scan(raw: str) -> _Scan:
    lines = _raw_lines(raw)
    url = ""
    for line in lines:
        m = _SOURCE.match(line)
        if m:
            url = m.group("url")
            break

    body: list[str] = []
    for line in lines:
        if _NAV_HEADING.match(line):
            break
        body.append(line)

    # The author signature: the last non-blank line before the first source line, if it is only a name.
    signature_at = -1
    source_at = next((i for i, line in enumerate(body) if _SOURCE.match(line)), -1)
    if source_at > 0:
        before = [i for i in range(source_at) if body[i]]
        if before and _is_signature(body[before[-1]]):
            signature_at = before[-1]

    kept: list[str] = []
    byline_dates: list[str] = []
    for i, line in enumerate(body):
        if not line or i == signature_at:
            continue
        if any(p.match(line) for p in (_BANNER, _COMMENTS, _NO_DATA, _VIDEO, _IMAGE_FILE, _SOURCE,
                                       _AGENCY_CREDIT)):
            continue
        date = _byline_date(line)
        if date is not None:
            byline_dates.append(date)
            continue
        if kept and kept[-1] == line:  # a caption (or any line) printed twice in a row
            continue
        kept.append(line)
    return _Scan(tuple(kept), url, tuple(byline_dates))


def clean_text(raw: str) -> str:
    """The article's content: boilerplate removed, one paragraph per line, paragraphs joined by ``\\n\\n``."""
    return "\n\n".join(_scan(raw).paragraphs)


def publisher_of(url: str) -> str:
    """The URL's host without ``www.``, lowercased; "" when there is no URL or no host."""
    if not url:
        return ""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def is_caption(line: str) -> bool:
    """A photo caption names its photo credit ("Foto: ...", "(Tangkapan layar: ...)")."""
    return bool(_CAPTION.search(line))


def is_headline(line: str) -> bool:
    """Short and without final punctuation: a headline or subheading rather than a sentence."""
    return (
        len(line) <= HEADLINE_MAX_CHARS
        and len(line.split()) <= HEADLINE_MAX_WORDS
        and not re.search(r"[.!?…:;,\"'”’)\]]$", line)
    )


def shorten(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at a word boundary and ended with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–(") + "…"


def _title(paragraphs: tuple[str, ...]) -> str:
    candidates = [p for p in paragraphs if not is_caption(p)] or list(paragraphs)
    if not candidates:
        return ""
    first = candidates[0]
    if is_headline(first):
        return first
    return shorten(first_sentence(first))


def extract_metadata(raw: str) -> ArticleMeta:
    """URL, publisher, title and date of a raw article (see the module docstring for the rules)."""
    scan = _scan(raw)
    if scan.byline_dates:
        date: str | None = scan.byline_dates[0]
    else:
        dates = _dates_in("\n\n".join(scan.paragraphs))
        date = dates[0][1] if dates else None
    return ArticleMeta(url=scan.url, publisher=publisher_of(scan.url), title=_title(scan.paragraphs),
                       date=date)
