"""The text boundary: what comes in from a person is cleaned here, and what goes out can always be written.

Coming in (every entry point: ``chatbot ask``, ``chat``, the batch contract, the web UI, the eval harness;
they all reach it through ``Pipeline.stream``, and the UI and the batch reader also call ``clean_text``
on what they show or echo):

- ``clean_text``: lone surrogates (a Python string holding half of a UTF-16 pair, or an undecodable byte
  of a command-line argument, which Python turns into ``\\udcff``) become U+FFFD; ``\\r\\n`` and ``\\r``
  become ``\\n``; the C0 control characters other than newline and tab, DEL and the C1 controls (among
  them the terminal's CSI, U+009B) are dropped; the text is normalised to NFC.
- ``prepare_question``: ``clean_text``, then whitespace collapsed to single spaces. A question with no
  letter or digit left (``""``, ``"?"``, NUL bytes, escape sequences), or one that holds nothing but
  sentences addressed to the model (``"Ignore previous instructions."``, which the prompt builder removes),
  is empty and raises ``InputError``. A question longer than the limit is cut at a word boundary, with a
  notice.

Going out (never raise, whatever the string):

- ``scrub``: lone surrogates replaced by U+FFFD, so the text encodes as UTF-8.
- ``json_dumps``: JSON whose lone surrogates (and C1 and bidi controls, which ``json`` leaves raw) are
  written as ``\\uXXXX`` escapes, so it encodes as UTF-8, is safe to show in a terminal, and a JSON reader
  gets back exactly the string that went in (a batch id stays what it was).
- ``for_terminal``: text for a terminal, with every control character other than newline and tab
  (escape sequences that would set the window title, move the cursor or clear the screen), and the bidi
  controls that reorder what is shown, written as visible escapes (``\\x1b``, ``\\u202e``).

Deliberately not here: HTML escaping (``web/render.py``), what counts as a relevant question (the
pipeline's relevance gate), changes to article text (``ingest/``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from chatbot.errors import InputError

_SURROGATE = re.compile("[\ud800-\udfff]")
_NEWLINES = re.compile("\r\n?")
# C0 controls except tab (09) and newline (0a), DEL, and the C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# For the terminal: the same controls, plus the bidi embeddings, overrides and isolates.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What json.dumps(ensure_ascii=False) leaves raw but must not reach a UTF-8 file or a terminal (U+2028 and
# U+2029 too: str.splitlines and many JSON-lines readers end a line there).
_JSON_UNSAFE = re.compile("[\ud800-\udfff\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

EMPTY_QUESTION = "The question is empty: type a question about the articles."
ONLY_INSTRUCTIONS = ("The question holds only instructions to the assistant (such as \"ignore previous "
                     "instructions\"), which are not passed on: ask a question about the articles.")


def scrub(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (surrogate pairs become the character they encode)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_text(text: str) -> str:
    """Text as typed, made safe to process: see the module docstring. Not a str: ``InputError``."""
    if not isinstance(text, str):
        raise InputError(f"Expected text, got {type(text).__name__}.")
    text = _CONTROLS.sub("", _NEWLINES.sub("\n", scrub(text)))
    return unicodedata.normalize("NFC", text)


def has_content(text: str) -> bool:
    """True if ``text`` holds at least one letter or digit (in any script)."""
    return any(ch.isalnum() for ch in text)


@dataclass(frozen=True)
class Prepared:
    """A validated question: the text to answer and a notice if it had to be shortened."""

    text: str
    notice: str | None


def prepare_question(question: str, max_chars: int) -> Prepared:
    """The question to answer, cleaned, on one line and at most ``max_chars`` long; ``InputError`` if
    empty."""
    from chatbot.answer.prompting import sanitize_passage  # here: the rest of this module imports nothing

    if not isinstance(question, str):
        raise InputError(f"The question must be text, not {type(question).__name__}.")
    text = " ".join(clean_text(question).split())
    if not has_content(text):
        raise InputError(EMPTY_QUESTION)
    notice = None
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notice = (f"The question was {len(text):,} characters long and was truncated to the first "
                  f"{len(cut):,}.")
        text = cut
    if not has_content(sanitize_passage(text)):  # what the model would be asked is nothing
        raise InputError(ONLY_INSTRUCTIONS if has_content(text) else EMPTY_QUESTION)
    return Prepared(text, notice)


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` whose output always encodes as UTF-8.

    Outside its strings JSON is plain ASCII, so these characters can only be inside one, where ``\\uXXXX``
    is their exact escape."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return _JSON_UNSAFE.sub(_json_escape, text)


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """``text`` safe to print: control and bidi characters made visible, surrogates replaced."""
    return _TERMINAL_UNSAFE.sub(_visible, scrub(text).replace("\r\n", "\n"))
