"""HTML, Markdown and JSON for the chat UI, as pure functions of the shared types.

What it does: turns an ``Answer`` (or a stream's partial text) into a chat bubble whose ``[n]`` markers are
links to numbered source cards; renders those cards with the cited span highlighted (``<mark>``) inside a
window of its article; renders the "sources only" view shown as soon as retrieval is done; exports a
conversation to Markdown and JSON; writes the status line.

Every piece of text that comes from a model, an article or a person is passed through ``html.escape``
before any markup is added, so a ``<script>`` in an article or an answer is shown as text and never runs;
the Markdown export escapes it too, so a viewer that renders HTML in Markdown shows it as text. Only
``http(s)`` URLs become links. No function here raises on any string: lone surrogates become U+FFFD
(``boundary.scrub``), and the JSON export writes them as escapes.

What it deliberately does not do: import gradio, call the pipeline, read files or keep state. The app
(``chatbot/web/app.py``) looks the articles up and passes them in as a mapping.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlparse

from chatbot.boundary import json_dumps, scrub
from chatbot.text import CITATION, citation_numbers
from chatbot.types import Answer, Article, Chunk, Hit, Language, PipelineInfo

NOT_FOUND_BADGE: Mapping[str, str] = MappingProxyType(
    {"id": "Tidak ditemukan di artikel", "en": "Not in the articles"}
)


def _esc(text: str) -> str:
    return html.escape(scrub(text), quote=True)


def _multiline(text: str) -> str:
    """Escaped text with line breaks as ``<br>``: one line of HTML, so no Markdown renderer touches it."""
    return "<br>".join(_esc(line) for line in text.strip().split("\n"))


def source_anchor(turn: int, n: int) -> str:
    """The element id of source card ``n`` of conversation turn ``turn`` (both 1-based)."""
    return f"src-{turn}-{n}"


def safe_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None (no ``javascript:`` links)."""
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


# --- the answer bubble -------------------------------------------------------------------------------------


def link_citations(text: str, turn: int, valid: Collection[int]) -> str:
    """Escape ``text``, then turn each valid ``[n]`` into a link to source card ``n``; others stay text.

    Every marker the citation parser reads (``chatbot.text.CITATION``) links, each of its numbers on its
    own: "[1, 2]", "[1-2]" and "【1】[2]" all show as links "[1][2]"; a group with no valid number stays as
    written.
    """

    def replace(match: re.Match) -> str:
        numbers = citation_numbers(match.group(2))
        if not any(n in valid for n in numbers):
            return match.group(0)
        return match.group(1) + "".join(
            f'<a href="#{source_anchor(turn, n)}" class="cite" data-n="{n}">[{n}]</a>'
            if n in valid
            else f"[{n}]"
            for n in numbers
        )

    lines = [CITATION.sub(replace, _esc(line)) for line in text.strip().split("\n")]
    return "<br>".join(lines)


def render_question(question: str) -> str:
    """The person's question as a chat bubble body (escaped; never rendered as Markdown or HTML)."""
    return f'<div class="question">{_multiline(question)}</div>'


def render_pending(text: str, turn: int, n_hits: int) -> str:
    """A partial answer while it streams (citations to the retrieved passages already link)."""
    if not text.strip():
        return '<div class="answer pending"><span class="thinking">…</span></div>'
    body = link_citations(text, turn, range(1, n_hits + 1))
    return f'<div class="answer pending">{body}<span class="cursor">▍</span></div>'


def render_answer(answer: Answer, turn: int) -> str:
    """The final answer bubble: cited answer, or a refusal with its badge; plus any notice."""
    notice = f'<div class="notice">{_multiline(answer.notice)}</div>' if answer.notice else ""
    if answer.refused:
        badge = badge_for(answer.language)
        return (
            f'<div class="answer refused"><span class="badge not-found">⊘ {_esc(badge)}</span>'
            f'<div class="answer-text">{_multiline(answer.text)}</div>{notice}</div>'
        )
    body = link_citations(answer.text, turn, {c.n for c in answer.citations})
    return f'<div class="answer"><div class="answer-text">{body}</div>{notice}</div>'


def render_error(message: str) -> str:
    """A failure shown in the chat instead of an answer: the error's sentence, never a traceback."""
    return (
        '<div class="answer error" role="alert"><span class="badge error-badge">⚠ Error</span> '
        f"{_multiline(message)}</div>"
    )


# --- a passage in the context of its article ---------------------------------------------------------------


@dataclass(frozen=True)
class PassageView:
    """A cited span and the article text around it, ready to be shown with the span highlighted."""

    before: str
    passage: str
    after: str
    clipped_before: bool  # the window starts inside the article (show an ellipsis)
    clipped_after: bool


def locate(article_text: str, chunk: Chunk) -> tuple[int, int] | None:
    """The chunk's [start, end) in the article: its own offsets if they match, else where its text is."""
    if (
        0 <= chunk.start < chunk.end <= len(article_text)
        and article_text[chunk.start : chunk.end] == chunk.text
    ):
        return chunk.start, chunk.end
    at = article_text.find(chunk.text) if chunk.text else -1
    return (at, at + len(chunk.text)) if at >= 0 else None


def passage_in_context(text: str, start: int, end: int, context_chars: int = 240) -> PassageView:
    """``text[start:end]`` with up to ``context_chars`` on each side, cut at paragraph or word boundaries.

    Whole paragraphs are added while they fit in the budget; if even the paragraph holding the passage
    is longer, the window is cut at a word boundary and marked as clipped.
    """
    start, end = max(0, start), min(len(text), end)
    # Backwards: the earliest paragraph start within budget.
    lo = text.rfind("\n", 0, start) + 1
    clipped_before = False
    if start - lo > context_chars:
        space = text.find(" ", start - context_chars, start)
        lo = space + 1 if space >= 0 else start - context_chars
        clipped_before = True
    else:
        while lo > 0:
            prev = text.rfind("\n", 0, lo - 1) + 1
            if start - prev > context_chars:
                break
            lo = prev
        clipped_before = lo > 0
    # Forwards: the latest paragraph end within budget.
    nl = text.find("\n", end)
    hi = len(text) if nl < 0 else nl
    clipped_after = False
    if hi - end > context_chars:
        space = text.rfind(" ", end, end + context_chars)
        hi = space if space >= 0 else end + context_chars
        clipped_after = True
    else:
        while hi < len(text):
            nxt = text.find("\n", hi + 1)
            nxt = len(text) if nxt < 0 else nxt
            if nxt - end > context_chars:
                break
            hi = nxt
        clipped_after = hi < len(text)
    return PassageView(
        text[lo:start].lstrip(), text[start:end], text[end:hi].rstrip(), clipped_before, clipped_after
    )


_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def _compact(text: str) -> str:
    """Escaped text with runs of blank lines shown as one line break (paragraphs stay on their own lines)."""
    return _esc(_BLANK_LINES.sub("\n", text))


def render_passage(chunk: Chunk, article: Article | None, context_chars: int = 240) -> str:
    """The passage highlighted inside its article window (or on its own when the article is unknown)."""
    span = locate(article.text, chunk) if article is not None else None
    if article is None or span is None:
        view = PassageView("", chunk.text, "", False, False)
    else:
        view = passage_in_context(article.text, span[0], span[1], context_chars)
    return (
        '<div class="src-context">'
        + ('<span class="clip">… </span>' if view.clipped_before else "")
        + _compact(view.before)
        + "<mark>"
        + _compact(view.passage)
        + "</mark>"
        + _compact(view.after)
        + ('<span class="clip"> …</span>' if view.clipped_after else "")
        + "</div>"
    )


def render_source_card(n: int, chunk: Chunk, article: Article | None, turn: int, *, cited: bool) -> str:
    """One numbered source card: title, publisher, a link to the original, the passage in context."""
    url = safe_url(chunk.url)
    link = (
        f'<a class="src-link" href="{_esc(url)}" target="_blank" rel="noopener noreferrer">'
        f"Open original ↗</a>"
        if url
        else ""
    )
    date = f" · {_esc(article.date)}" if article is not None and article.date else ""
    kind = "cited" if cited else "uncited"
    return (
        f'<article class="src-card {kind}" id="{source_anchor(turn, n)}" data-n="{n}">'
        f'<header class="src-head"><span class="src-n">{n}</span>'
        f'<span class="src-title">{_esc(chunk.title)}</span></header>'
        f'<div class="src-meta"><span class="src-pub">{_esc(chunk.publisher)}</span>{date} {link}</div>'
        f"{render_passage(chunk, article, context_chars=240)}</article>"
    )


# --- the sources panel -------------------------------------------------------------------------------------


def _numbered_hits(hits: Sequence[Hit]) -> list[tuple[int, Chunk]]:
    """Passages with the 1-based numbers the prompt gave them (their order in ``hits``)."""
    return [(i, h.chunk) for i, h in enumerate(hits, start=1)]


def render_retrieved(hits: Sequence[Hit], articles: Mapping[str, Article], turn: int, question: str) -> str:
    """The "sources only" view, shown right after retrieval while the model is still writing."""
    head = f'<div class="turn-head"><span class="turn-label">Retrieved</span> {_esc(question)}</div>'
    if not hits:
        return (
            f'<section class="turn current retrieved" data-turn="{turn}">{head}'
            '<p class="src-status">No passage found.</p></section>'
        )
    head += (
        f'<p class="src-status">Found {len(hits)} passage{"s" if len(hits) != 1 else ""}; '
        "the answer is being written…</p>"
    )
    cards = "".join(
        render_source_card(n, c, articles.get(c.article_id), turn, cited=False)
        for n, c in _numbered_hits(hits)
    )
    return f'<section class="turn current retrieved" data-turn="{turn}">{head}{cards}</section>'


def render_answer_sources(answer: Answer, articles: Mapping[str, Article], turn: int) -> str:
    """Cited passages as cards (in citation order); retrieved-but-uncited ones in a collapsed section."""
    cited_numbers = [c.n for c in answer.citations]
    by_number = dict(_numbered_hits(answer.hits))
    for c in answer.citations:  # a citation is authoritative even if hits were not kept
        by_number.setdefault(c.n, c.chunk)
    if answer.refused:
        status = '<p class="src-status refused">No passage answers this question.</p>'
    elif cited_numbers:
        status = f'<p class="src-status">Cited: {", ".join(f"[{n}]" for n in cited_numbers)}</p>'
    else:
        status = '<p class="src-status">The answer cites no passage.</p>'
    cited = "".join(
        render_source_card(n, by_number[n], articles.get(by_number[n].article_id), turn, cited=True)
        for n in cited_numbers
    )
    rest = [(n, c) for n, c in sorted(by_number.items()) if n not in cited_numbers]
    other = ""
    if rest:
        label = "Passages searched" if answer.refused else "Other retrieved passages (not cited)"
        cards = "".join(
            render_source_card(n, c, articles.get(c.article_id), turn, cited=False) for n, c in rest
        )
        other = f'<details class="uncited-group"><summary>{label} ({len(rest)})</summary>{cards}</details>'
    return f"{status}{cited}{other}"


def render_sources_panel(
    answers: Sequence[Answer],
    articles: Mapping[str, Article],
    *,
    pending_hits: Sequence[Hit] | None = None,
    pending_question: str = "",
) -> str:
    """The whole panel: the current turn open at the top, earlier turns collapsed below (newest first).

    ``pending_hits`` (with ``pending_question``) is a turn whose answer is still being written: its
    passages are shown as found. Turn numbers are 1-based positions in the conversation, matching the
    anchors ``render_answer`` links to.
    """
    sections: list[str] = []
    if pending_hits is not None:
        sections.append(render_retrieved(pending_hits, articles, len(answers) + 1, pending_question))
    for turn in range(len(answers), 0, -1):
        answer = answers[turn - 1]
        body = render_answer_sources(answer, articles, turn)
        if not sections:
            sections.append(
                f'<section class="turn current" data-turn="{turn}"><div class="turn-head">'
                f'<span class="turn-label">Sources</span> {_esc(answer.question)}</div>{body}</section>'
            )
        else:
            sections.append(
                f'<details class="turn earlier" data-turn="{turn}"><summary>'
                f'<span class="turn-label">Q{turn}</span> {_esc(answer.question)}</summary>'
                f"{body}</details>"
            )
    if not sections:
        sections.append(
            '<p class="src-empty">Sources appear here: the passages the answer is based on, '
            "highlighted in their article. / Sumber akan tampil di sini.</p>"
        )
    return f'<div class="sources-panel">{"".join(sections)}</div>'


# --- status line and export --------------------------------------------------------------------------------


def status_text(info: PipelineInfo) -> str:
    """One line: the models, the retrieval mode, the index and its size."""
    return (
        f"Model: {info.generator} · Embeddings: {info.embedder} · Retrieval: {info.retrieval} · "
        f"Index: {info.index_dir} · {info.n_articles} article{'s' if info.n_articles != 1 else ''}, "
        f"{info.n_chunks} passage{'s' if info.n_chunks != 1 else ''}"
    )


def render_status(info: PipelineInfo) -> str:
    """The status line, and the corpus warnings (files skipped, escapes removed) in a closed section."""
    warnings = ""
    if info.warnings:
        n = len(info.warnings)
        items = "".join(f"<li>{_esc(w)}</li>" for w in info.warnings)
        warnings = (f'<details class="status-warnings"><summary>⚠ {n} warning{"s" if n != 1 else ""} '
                    f"about the articles</summary><ul>{items}</ul></details>")
    return f'<div class="status-line">{_esc(status_text(info))}{warnings}</div>'


def render_status_error(message: str) -> str:
    return f'<div class="status-line status-error" role="alert">⚠ {_esc(message)}</div>'


def _md(text: str) -> str:
    """Text for Markdown with its HTML shown as text (``<b>`` stays visible, a ``<script>`` never runs)."""
    return html.escape(scrub(text), quote=False)


def _md_link_text(text: str) -> str:
    return _md(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in _md(text).strip().split("\n"))


def conversation_to_markdown(
    answers: Sequence[Answer], title: str = "Conversation about the articles"
) -> str:
    """The conversation as Markdown: each question, its answer and its numbered, quoted sources."""
    out = [f"# {title}", ""]
    for turn, answer in enumerate(answers, start=1):
        out += [f"## {turn}. {' '.join(_md(answer.question).split())}", ""]
        if answer.refused:
            badge = badge_for(answer.language)
            out += [f"*{badge}.* {_md(answer.text).strip()}", ""]
        else:
            out += [_md(answer.text).strip(), ""]
        if answer.notice:
            out += [f"*Note: {_md(answer.notice)}*", ""]
        if answer.citations:
            out += ["**Sources**", ""]
            for c in answer.citations:
                url = safe_url(c.chunk.url)
                name = _md_link_text(c.chunk.title)
                link = f"[{name}]({url})" if url else name
                out += [f"{c.n}. {link} — {_md(c.chunk.publisher)}", "", _quote(c.chunk.text), ""]
    return "\n".join(out).rstrip() + "\n"


def conversation_to_json(answers: Sequence[Answer]) -> str:
    """The conversation as JSON: ``{"turns": [{"turn": 1, **Answer.to_dict()}, ...]}``."""
    turns = [{"turn": turn, **answer.to_dict()} for turn, answer in enumerate(answers, start=1)]
    return json_dumps({"turns": turns}, indent=2) + "\n"


def badge_for(language: Language) -> str:
    """The refusal badge's words in the answer's language."""
    return NOT_FOUND_BADGE.get(language, NOT_FOUND_BADGE["en"])
