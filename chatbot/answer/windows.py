"""Window mode: an article (or a run of its consecutive passages) as the prompt's prefix, numbered.

``cut_windows`` cuts each article into windows of consecutive whole passages, up to a token budget; an
article that fits is one window. Passages overlap in the index (``chunk_overlap_tokens``), so inside a
window each passage shows the text from its start to the next passage's start, and the last passage of a
window shows all of itself: the window reads as one text with no repeated sentences. Passages are numbered
``[1]..[n]`` inside their window; a citation ``[n]`` maps back to the passage's ``Chunk`` (its id and span),
so the UI highlights it as in passage mode.
The prompt shows each passage under its number in the whole corpus (``Window.first`` is the number of a
window's first passage), as the issue's probe did: numbers such as [36] are not read as counts, nor copied
from the rules' example. ``parse_citations(..., first=window.first)`` maps them back to ``[1]..[n]``.

``window_prefix`` builds the prefix (system rules and the numbered passages) from ``prompts/window.toml``;
both its ``system`` and its ``prefix`` may hold the ``{title}`` and ``{passages}`` fields, so the prompt
file decides whether the article is in the system message or at the start of the user's.
It does not depend on the question or its language: one saved state serves every question on the window.
``window_suffix`` builds what follows it for one question (previous turn, the passage-number hint when
``window.toml`` has one, the question and the language instruction; the not-found rule sits in the
prefix's rules only). ``choose_window`` picks the window for a
question from its ranked hits.

Pure functions over data; no model calls here (the states are ``window_states``'s job).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from chatbot.answer.prompting import sanitize_passage
from chatbot.generation.base import PrefixPrompt
from chatbot.text import strip_citations
from chatbot.types import Article, Chunk, Hit, Language, Turn

PROMPT_FILE = "window.toml"


@dataclass(frozen=True)
class Window:
    """Consecutive passages of one article, shown as ``[1]..[n]`` in a prompt prefix."""

    window_id: str  # content hash of the article id and the passages' ids and texts
    article_id: str
    title: str
    chunks: tuple[Chunk, ...]  # in article order; chunks[n - 1] is passage [n]
    texts: tuple[str, ...]  # the text shown for each passage (no overlap with its neighbour)
    tokens: int  # the passages' estimated prompt tokens
    first: int = 1  # the number the prompt shows for passage [1]: its place among all the corpus's passages

    def shown(self, n: int) -> int:
        """The number the prompt shows for the window's passage ``n``."""
        return self.first + n - 1

    def number_of(self, chunk_id: str) -> int | None:
        """The 1-based number of a passage in this window, or None when it is not here."""
        for i, c in enumerate(self.chunks, start=1):
            if c.chunk_id == chunk_id:
                return i
        return None

    def hits(self) -> tuple[Hit, ...]:
        """The window's passages as hits in window order (rank = number), for citation parsing."""
        return tuple(Hit(c, 0.0, i) for i, c in enumerate(self.chunks, start=1))


@dataclass(frozen=True)
class WindowChoice:
    """The window chosen for a question, and why."""

    window: Window
    numbers: tuple[int, ...]  # the retrieved passages inside it, best first (the hint)
    mass: float  # its share of the fused rank mass of the retrieved passages (0 to 1)
    split: bool  # the top passages sat in more than one window
    note: str  # what the answer's metadata says about the choice


@dataclass(frozen=True)
class WindowPrompts:
    system: str
    prefix: str
    passage: str
    suffix: dict[str, dict[str, str]]  # language -> history, hint, question, check
    not_found_marker: str  # the phrase the rules tell the model to write (one for both languages)
    sha256: str  # of the prompt file's prefix part (system, prefix, passage): part of every state key


@lru_cache(maxsize=2)
def load_window_prompts(name: str = PROMPT_FILE) -> WindowPrompts:
    text = resources.files("chatbot.answer").joinpath("prompts", name).read_text("utf-8")
    data = tomllib.loads(text)
    suffix = {lang: dict(data[lang]) for lang in ("id", "en")}
    # The suffix tables are read per question and never enter a saved state, so editing them keeps the
    # states; an edit to the prefix part gives every state a new key.
    prefix_part = "\0".join((data["system"], data["prefix"], data["passage"]))
    return WindowPrompts(data["system"], data["prefix"], data["passage"], suffix, data["not_found_marker"],
                         hashlib.sha256(prefix_part.encode("utf-8")).hexdigest())


def estimate_tokens(text: str) -> int:
    """A conservative token count for Indonesian text (Qwen's tokenizer: ~3.3 characters a token)."""
    return len(text) // 3 + 1


def _shown_texts(article: Article | None, chunks: Sequence[Chunk]) -> list[str]:
    """Each passage's text up to the next passage's start (the last one whole)."""
    out = []
    for i, c in enumerate(chunks):
        text = c.text
        if article is not None and i + 1 < len(chunks) and chunks[i + 1].start > c.start:
            end = min(chunks[i + 1].start, c.end)
            text = article.text[c.start:end] or c.text
        out.append(sanitize_passage(text))
    return out


def _window_id(article_id: str, chunks: Sequence[Chunk], texts: Sequence[str], first: int) -> str:
    h = hashlib.sha256(f"{article_id}\0{first}".encode())
    for c, t in zip(chunks, texts, strict=True):
        h.update(b"\0" + c.chunk_id.encode("utf-8") + b"\0" + t.encode("utf-8"))
    return h.hexdigest()[:24]


def cut_windows(articles: Sequence[Article], chunks: Sequence[Chunk], budget_tokens: int,
                count_tokens: Callable[[str], int] = estimate_tokens) -> tuple[Window, ...]:
    """Every article's passages in windows of consecutive whole passages of at most ``budget_tokens``
    (a passage longer than the budget gets a window of its own). Articles keep the corpus order, and the
    passages are numbered through the corpus in that order (``Window.first``)."""
    by_article: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_article.setdefault(c.article_id, []).append(c)
    known = {a.article_id: a for a in articles}
    order = [a.article_id for a in articles if a.article_id in by_article]
    order += [aid for aid in by_article if aid not in known]
    windows: list[Window] = []
    for aid in order:
        ordered = sorted(by_article[aid], key=lambda c: (c.start, c.end))
        texts = _shown_texts(known.get(aid), ordered)
        group: list[int] = []
        used = 0
        for i, text in enumerate(texts):
            n = count_tokens(text) + 4  # "[n] " and the line break
            if group and used + n > budget_tokens:
                windows.append(_make(aid, ordered, texts, group, used, _next_number(windows)))
                group, used = [], 0
            group.append(i)
            used += n
        if group:
            windows.append(_make(aid, ordered, texts, group, used, _next_number(windows)))
    return tuple(windows)


def _next_number(windows: Sequence[Window]) -> int:
    return windows[-1].first + len(windows[-1].chunks) if windows else 1


def _make(aid: str, chunks: Sequence[Chunk], texts: Sequence[str], group: Sequence[int], used: int,
          first: int) -> Window:
    cs = [chunks[i] for i in group]
    ts = [texts[i] for i in group]
    if group[-1] + 1 < len(chunks):  # the window ends before the article does: show its last passage whole
        ts[-1] = sanitize_passage(cs[-1].text)
    return Window(_window_id(aid, cs, ts, first), aid, cs[0].title, tuple(cs), tuple(ts), used, first)


def window_prefix(window: Window, prompts: WindowPrompts | None = None) -> PrefixPrompt:
    """The prompt prefix for ``window``: identical, byte for byte, for every question on it."""
    p = prompts or load_window_prompts()
    passages = "\n".join(p.passage.format(n=window.shown(i), text=t)
                          for i, t in enumerate(window.texts, start=1))
    fields = {"title": sanitize_passage(window.title), "passages": passages}
    return PrefixPrompt(p.system.format(**fields), p.prefix.format(**fields))


def window_suffix(question: str, language: Language, numbers: Sequence[int], previous: Turn | None = None,
                  prompts: WindowPrompts | None = None, *, max_history_chars: int = 300) -> str:
    """What follows the prefix for one question: previous turn, hint, question with the not-found rule."""
    s = (prompts or load_window_prompts()).suffix[language]
    history = ""
    if previous is not None:
        answer = strip_citations(previous.answer)[:max_history_chars]
        history = s["history"].format(question=sanitize_passage(previous.question),
                                      answer=sanitize_passage(answer))
    hint = s["hint"].format(numbers=", ".join(f"[{n}]" for n in numbers)) if numbers and s["hint"] else ""
    return history + hint + s["question"].format(question=sanitize_passage(question))


def check_suffix(question: str, language: Language, prompts: WindowPrompts | None = None) -> str:
    """The answerability question asked after the prefix (read as the first token's yes/no odds)."""
    s = (prompts or load_window_prompts()).suffix[language]
    return s["check"].format(question=sanitize_passage(question))


def support_suffix(question: str, answer: str, language: Language,
                   prompts: WindowPrompts | None = None) -> str:
    """The check asked after the prefix once an answer is drafted: does the article state this answer?"""
    s = (prompts or load_window_prompts()).suffix[language]
    return s["support"].format(question=sanitize_passage(question),
                               answer=sanitize_passage(strip_citations(answer)))


def choose_window(hits: Sequence[Hit], windows_of: dict[str, Window], rrf_k: int = 0) -> WindowChoice | None:
    """The window holding the best passage, or, when the top passages sit in several windows, the one
    with the most rank mass (sum of 1 / (rrf_k + rank) over its retrieved passages).

    ``rrf_k`` = 0 weighs rank 1 as much as ranks 2 and 3 together: another window wins only when it holds
    three of the next passages. With the fusion's own k (60) all ranks weigh nearly the same and the
    count of passages decided: on 30 dev questions that left the best passage's window for a window
    without the answer (e.g. "150 organisations" answered from article 004 instead of 002)."""
    if not hits:
        return None
    mass: dict[str, float] = {}
    members: dict[str, list[int]] = {}
    by_id: dict[str, Window] = {}
    for h in hits:
        w = windows_of.get(h.chunk.chunk_id)
        if w is None:
            continue
        by_id[w.window_id] = w
        mass[w.window_id] = mass.get(w.window_id, 0.0) + 1.0 / (rrf_k + max(1, h.rank))
        n = w.number_of(h.chunk.chunk_id)
        if n is not None and n not in members.setdefault(w.window_id, []):
            members[w.window_id].append(n)
    if not mass:
        return None
    first = windows_of.get(hits[0].chunk.chunk_id)
    best = max(mass, key=lambda wid: (mass[wid], first is not None and wid == first.window_id))
    total = sum(mass.values())
    window = by_id[best]
    split = len(mass) > 1
    note = f"window {window.article_id} passages [{window.first}]-[{window.shown(len(window.chunks))}]"
    if split:
        note += (f"; the top passages sat in {len(mass)} windows, chosen by fused score mass "
                 f"{mass[best] / total:.2f}")
        if first is not None and first.window_id != best:
            note += " (not the window of the best passage)"
    return WindowChoice(window, tuple(members[best]), mass[best] / total, split, note)
