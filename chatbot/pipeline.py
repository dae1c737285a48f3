"""The question-answering pipeline: question -> passages -> cited answer, as a stream of events.

One ``Pipeline`` serves the CLI, the batch mode, the eval harness and the UI. It is cheap to construct;
the index and the models load on first use, once, behind a lock (or when an entry point calls ``load``
with a ``notify`` that shows the warnings and any rebuild). It keeps no per-user state: callers pass
the conversation history in, so one object can serve many people at once. Every question passes the input
boundary (``boundary.prepare_question``) first. Refusal is decided here as well as by the model: a
question whose best passage is not similar enough, or hardly closer to it than nonsense is
(``search/relevance.py``), is refused before the model runs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from chatbot.answer import citations as cite
from chatbot.answer import history as hist
from chatbot.answer.excerpts import SentenceScorer
from chatbot.answer.grounding import ground_citations, unsupported_numbers
from chatbot.answer.language import ArticleWords, detect_language
from chatbot.answer.prompting import PromptSet, build_messages, load_prompts
from chatbot.answer.window_states import StateStore
from chatbot.answer.windows import (
    Window,
    WindowChoice,
    check_suffix,
    choose_window,
    cut_windows,
    load_window_prompts,
    support_suffix,
    window_prefix,
    window_suffix,
)
from chatbot.boundary import Prepared, clean_text, prepare_question
from chatbot.config import Config
from chatbot.embedders import make_embedder
from chatbot.embedders.base import Embedder
from chatbot.errors import ChatbotError, ModelError
from chatbot.generation import make_generator
from chatbot.generation.base import Generator, Message, holds_prefix_states
from chatbot.generation.confidence import content_confidence, recorded_steps
from chatbot.search.indexing import IndexBuild, ensure_index
from chatbot.search.relevance import NonsenseBaseline, RareTerms
from chatbot.search.retrieval import Retriever
from chatbot.text import append_citation, bracket_passage_references, says_something, strip_citations
from chatbot.types import (
    Answer,
    Article,
    Done,
    Event,
    Hit,
    Language,
    PipelineInfo,
    Restart,
    Retrieved,
    Timings,
    Token,
    Turn,
)


def model_refused(text: str, marker: str) -> bool:
    """The model said the passages don't answer: the marker opens the reply or is nearly all of it. The
    model sometimes translates the marker's negation ("Tidak FOUND" for "NOT FOUND"): that counts too."""
    upper = strip_citations(text).strip().upper()
    if marker.startswith("NOT "):
        upper = re.sub(r"^TIDAK\b", "NOT", upper)
    if upper.startswith(marker):
        return True
    return marker in upper and len(upper.replace(marker, "").strip(" .:-\n")) < 40


class Pipeline:
    def __init__(self, config: Config, *, embedder: Embedder | None = None,
                 generator: Generator | None = None) -> None:
        self.config = config
        self._embedder = embedder
        self._generator = generator
        self._retriever: Retriever | None = None
        self._build: IndexBuild | None = None
        self._nonsense: NonsenseBaseline | None = None
        self._rare: RareTerms | None = None
        self._article_words: ArticleWords | None = None
        self._scorer: SentenceScorer | None = None
        self._articles: dict[str, Article] = {}
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._windows: tuple[Window, ...] | None = None
        self._window_of: dict[str, Window] = {}
        self._states: StateStore | None = None

    @classmethod
    def from_config(cls, config: Config) -> Pipeline:
        return cls(config)

    # --- lazy components -------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config.embedder, self.config.threads)
        return self._embedder

    @property
    def generator(self) -> Generator:
        with self._load_lock:
            if self._generator is None:
                self._generator = make_generator(self.config.generator, self.config)
        return self._generator

    @property
    def retriever(self) -> Retriever:
        self.load()
        assert self._retriever is not None
        return self._retriever

    def load(self, notify: Callable[[str], None] | None = None) -> IndexBuild:
        """Load (or build) the index and the retriever, once; later calls return the same ``IndexBuild``.

        With ``notify`` (an entry point's way to print to stderr), the skipped-file warnings and, before a
        rebuild, why the index is rebuilt are passed to it as lines, and the embedding shows a progress bar
        on stderr. Without it, loading is silent; the warnings stay in the ``IndexBuild`` (and ``info()``)
        either way."""
        with self._load_lock:
            if self._build is None:
                build = ensure_index(self.config, self.embedder, progress=notify is not None, notify=notify)
                stored = build.stored
                self._articles = {a.article_id: a for a in build.articles}
                self._retriever = Retriever.build(
                    self.embedder, stored.chunks, stored.vectors, stored.vector_index,
                    mode=self.config.retrieval, candidates=self.config.candidates, rrf_k=self.config.rrf_k,
                    corpus_language=self.config.corpus_language,
                    cross_lingual_bm25_weight=self.config.cross_lingual_bm25_weight,
                    cross_lingual_ngram_weight=self.config.cross_lingual_ngram_weight)
                self._build = build
        return self._build

    def info(self) -> PipelineInfo:
        build, r = self.load(), self.retriever
        return PipelineInfo(
            embedder=self.config.embedder, generator=self.config.generator, retrieval=self.config.retrieval,
            n_articles=len(self._articles), n_chunks=len(r.chunks), index_dir=str(self.config.index_dir),
            warnings=build.warnings)

    def article(self, article_id: str) -> Article | None:
        self.retriever  # noqa: B018 - loads the articles with the index
        return self._articles.get(article_id)

    # --- answering ---------------------------------------------------------------------------------------

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Done):
                return event.answer
        # not reached: the stream always ends with Done
        raise ModelError("The pipeline ended without an answer.")  # pragma: no cover

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        prepared = prepare_question(question, self.config.max_question_chars)
        turns = tuple(history)[-self.config.history_turns:]
        turns = tuple(replace(t, question=clean_text(t.question), answer=clean_text(t.answer),
                              search_query=clean_text(t.search_query)) for t in turns)  # as typed or kept
        return self._stream(prepared, turns)

    def _stream(self, prepared: Prepared, history: tuple[Turn, ...]) -> Iterator[Event]:
        t0 = time.perf_counter()
        question = prepared.text
        language: Language = detect_language(question)
        prompts = load_prompts(language)
        query = hist.search_query(question, history)
        hits = tuple(self.retriever.search(query, self.config.top_k, language=language))
        retrieve_ms = (time.perf_counter() - t0) * 1000
        yield Retrieved(hits, language, query)

        base = Answer(question=question, language=language, text="", refused=False, hits=hits,
                      search_query=query, notice=prepared.notice)
        if self._too_weak(hits, language, query):
            yield from self._refuse(base, prompts,
                                    Timings(retrieve_ms, None, (time.perf_counter() - t0) * 1000))
            return

        if self.config.answer_context == "window":
            window_events = self._window_stream(base, history, prompts, t0, retrieve_ms)
            if window_events is not None:
                yield from window_events
                return
        yield from self._passage_events(base, history, prompts, t0, retrieve_ms)

    def _passage_events(self, base: Answer, history: tuple[Turn, ...], prompts: PromptSet, t0: float,
                        retrieve_ms: float) -> Iterator[Event]:
        """The events of a passage-mode answer: the top passages in the prompt, the reply streamed."""
        question, hits, language = base.question, base.hits, base.language
        texts = self._excerpts((question, base.search_query), hits)
        messages = build_messages(question, hits, language, hist.previous_turn(question, history),
                                  texts=texts)
        generator = self.generator
        try:
            prompt_tokens = generator.count_tokens(messages)
        except Exception:  # noqa: BLE001 - a count is a nicety, never a reason to fail
            prompt_tokens = None
        pieces: list[str] = []
        first_ms: float | None = None
        with self._generate_lock:
            for piece in self._hold_back_marker(
                    generator.stream(messages, max_tokens=self.config.max_new_tokens),
                    prompts.not_found_marker):
                if first_ms is None:
                    first_ms = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield Token(piece)
        raw = "".join(pieces)
        confidence = content_confidence(recorded_steps(getattr(generator, "last_stats", None)))
        if says_something(raw) and not model_refused(raw, prompts.not_found_marker):
            raw = self._in_language(raw, language, prompts, question)
        timings = Timings(retrieve_ms, first_ms, (time.perf_counter() - t0) * 1000)
        base = replace(base, prompt_tokens=prompt_tokens)
        if (not says_something(raw) or model_refused(raw, prompts.not_found_marker)
                or self._invents_numbers(raw, base)):
            yield from self._refuse(base, prompts, timings, streamed=bool(pieces))
            return
        yield Done(replace(self._finish(base, raw, prompts, timings), confidence=confidence))

    def _excerpts(self, queries: Sequence[str], hits: Sequence[Hit]) -> list[str] | None:
        """The passages shortened to the prompt budget (None: whole passages)."""
        budget = self.config.passage_budget_chars
        if budget <= 0:
            return None
        with self._load_lock:
            if self._scorer is None:
                self._scorer = SentenceScorer(self.embedder)
        return self._scorer.excerpts(queries, [h.chunk.text for h in hits], budget)

    def _in_language(self, raw: str, language: Language, prompts: PromptSet, question: str) -> str:
        """``raw``, or its rewrite in ``language`` (one more generation) when it came out in the other
        language, or mixed: in another language than the articles' with ``Config.mixed_language_words``
        of their words in it. A rewrite of a mixed answer is kept only if it holds fewer of them."""
        if not self.config.answer_language_guard:
            return raw
        mixed: frozenset[str] = frozenset()
        if detect_language(strip_citations(raw), default=language) == language:
            mixed = self._mixed_words(raw, language, question)
            if not mixed:
                return raw
        messages = [Message("user", prompts.rewrite.format(answer=raw.strip()))]
        with self._generate_lock:
            rewritten = "".join(
                self.generator.stream(messages, max_tokens=self.config.max_new_tokens)).strip()
        if not rewritten or detect_language(rewritten, default=language) != language:
            return raw
        if mixed and len(self._mixed_words(rewritten, language, question)) >= len(mixed):
            return raw
        return rewritten

    def _mixed_words(self, raw: str, language: Language, question: str) -> frozenset[str]:
        """The articles' words in an answer in another language, when there are enough to rewrite it."""
        needed = self.config.mixed_language_words
        if needed <= 0 or language == self.config.corpus_language:
            return frozenset()
        chunks = self.retriever.chunks
        with self._load_lock:
            if self._article_words is None:
                self._article_words = ArticleWords(c.text for c in chunks)
        found = self._article_words.in_answer(raw, question)
        return found if len(found) >= needed else frozenset()

    def _invents_numbers(self, raw: str, base: Answer) -> bool:
        """The answer states a number that no passage (nor the question) contains: not from the articles."""
        if not self.config.refuse_unsupported_numbers:
            return False
        return bool(unsupported_numbers(raw, [h.chunk.text for h in base.hits], base.question))

    def _too_weak(self, hits: Sequence[Hit], language: Language, query: str | None = None) -> bool:
        """Refuse before the model: no passage, a best passage below the similarity threshold, or (given the
        search ``query``) a best passage hardly closer to it than nonsense is, and no term of the query that
        is rare in the passages (``search/relevance.py``)."""
        if not hits:
            return True
        if self.config.retrieval == "bm25":
            return False  # BM25 scores are not comparable across questions
        best = max(h.score for h in hits)
        if best < self.config.threshold_for(language):
            return True
        if query is None or self._nonsense_margin(query, best) >= self.config.margin_for(language):
            return False
        return not self._rare_terms.in_query(query)  # a bare name ("UNODC") is no nonsense

    def _nonsense_margin(self, query: str, best: float) -> float:
        with self._load_lock:
            if self._nonsense is None:
                self._nonsense = NonsenseBaseline(self.embedder)
        return self._nonsense.margin(query, best)

    @property
    def _rare_terms(self) -> RareTerms:
        chunks = self.retriever.chunks
        with self._load_lock:
            if self._rare is None:
                self._rare = RareTerms(chunks, self.config.relevance_rare_term_share)
        return self._rare

    def _refuse(self, base: Answer, prompts: PromptSet, timings: Timings, streamed: bool = False
                ) -> Iterator[Event]:
        if not streamed:
            yield Token(prompts.refusal)
        yield Done(replace(base, text=prompts.refusal, refused=True, citations=(), timings_ms=timings,
                           confidence=None))

    @staticmethod
    def _hold_back_marker(pieces: Iterator[str], marker: str) -> Iterator[str]:
        """Pass pieces through, except while the reply so far could still be the not-found marker."""
        buffer = ""
        holding = True
        try:
            for piece in pieces:
                if not holding:
                    yield piece
                    continue
                buffer += piece
                head = buffer.lstrip().upper()
                if head.startswith(marker):
                    return  # the model refused: stop generating, the caller replies with the fixed message
                if marker.startswith(head):
                    continue
                holding = False
                yield buffer
        except ChatbotError:
            raise
        except Exception as err:  # a backend failure mid-stream
            raise ModelError(f"The language model failed while answering: {err}") from err
        finally:
            close = getattr(pieces, "close", None)
            if callable(close):
                close()  # stop the model now: a supervised child serves one reply at a time
        if holding and buffer:
            yield buffer

    def _finish(self, base: Answer, raw: str, prompts: PromptSet, timings: Timings) -> Answer:
        text = raw.strip()
        for marker in (load_window_prompts().not_found_marker, prompts.not_found_marker):
            text = text.replace(marker, "").strip() if marker in text.upper() else text
        parsed = cite.parse_citations(text, len(base.hits))
        grounded = ground_citations(parsed.text, [h.chunk.text for h in base.hits],
                                    self.config.grounding_margin)
        text, numbers = grounded.text, grounded.numbers
        if not numbers:
            n = self._supporting_passage(text, base.hits, base.language)
            if n is not None:
                text, numbers = append_citation(text, n), (n,)
        return replace(base, text=text, citations=cite.citations_for(numbers, base.hits), timings_ms=timings)

    def _supporting_passage(self, text: str, hits: Sequence[Hit], language: Language) -> int | None:
        """The 1-based number of the passage most similar to an uncited answer, if similar enough."""
        if not hits or not text.strip():
            return None
        sims = self.retriever.similarities(text, [h.chunk for h in hits])
        best = max(range(len(sims)), key=lambda i: sims[i])
        return best + 1 if sims[best] >= self.config.threshold_for(language) else None

    # --- window mode (answer/windows.py) -----------------------------------------------------------------

    def windows(self) -> tuple[Window, ...]:
        """The article windows of the index (cut once, on first use)."""
        retriever = self.retriever
        with self._load_lock:
            if self._windows is None:
                articles = [self._articles[aid] for aid in self._articles]
                self._windows = cut_windows(articles, retriever.chunks, self.config.window_tokens)
                self._window_of = {c.chunk_id: w for w in self._windows for c in w.chunks}
        return self._windows

    def window_states(self, *, progress: bool = False) -> StateStore | None:
        """The saved prefix states, built for the windows that fit the disk budget (None: the generator
        holds no states). Building them takes a while once (the model reads every window)."""
        generator = self.generator
        if not holds_prefix_states(generator):
            return None
        windows = self.windows()
        if self._states is None:
            store = StateStore(self.config.index_dir, int(self.config.window_state_budget_mb * 1024 * 1024))
            with self._generate_lock:
                store.ensure(windows, generator, progress=progress)  # type: ignore[arg-type]
            self._states = store
        return self._states

    def _window_stream(self, base: Answer, history: tuple[Turn, ...], prompts: PromptSet, t0: float,
                       retrieve_ms: float) -> Iterator[Event] | None:
        """The events of a window-mode answer, or None to answer in passage mode (the generator cannot
        use a window prefix, or the window has no state within the disk budget)."""
        generator = self.generator
        local = holds_prefix_states(generator)
        if not local and not getattr(generator, "serves_prefix_cache", False):
            return None
        self.windows()
        choice = choose_window(base.hits, self._window_of)
        if choice is None:
            return None
        state: Path | None = None
        if local:
            store = self.window_states(progress=True)
            state = store.state_for(choice.window) if store is not None else None
            if store is None or state is None:
                return None  # a cold window: passage mode
            store.record_use(choice.window)
        return self._window_events(base, history, prompts, choice, state, local, t0, retrieve_ms)

    def _window_events(self, base: Answer, history: tuple[Turn, ...], prompts: PromptSet,
                       choice: WindowChoice, state: Path | None, local: bool, t0: float,
                       retrieve_ms: float) -> Iterator[Event]:
        generator = self.generator
        window = choice.window
        prefix = window_prefix(window)
        base = replace(base, answer_context="window", window=choice.note)
        previous = hist.previous_turn(base.question, history)
        threshold = self.config.answerability_threshold
        if local and threshold > 0:
            with self._generate_lock:
                p_yes = generator.yes_probability(  # type: ignore[attr-defined]
                    prefix, check_suffix(base.question, base.language), state)
            base = replace(base, window=f"{choice.note}; answerable p={p_yes:.2f}")
            if p_yes < threshold:
                yield from self._refuse(base, prompts,
                                        Timings(retrieve_ms, None, (time.perf_counter() - t0) * 1000))
                return
        suffix = window_suffix(base.question, base.language, [window.shown(n) for n in choice.numbers[:3]],
                               previous)
        window_marker = load_window_prompts().not_found_marker
        pieces: list[str] = []
        first_ms: float | None = None
        with self._generate_lock:
            if local:
                stream = generator.stream_with_prefix(  # type: ignore[attr-defined]
                    prefix, suffix, state, max_tokens=self.config.max_new_tokens,
                    stop_below=self.config.window_fallback_confidence)  # a certain fallback stops the draft
            else:
                stream = generator.stream(prefix.messages(suffix), max_tokens=self.config.max_new_tokens)
            for piece in self._hold_back_marker(stream, window_marker):
                if first_ms is None:
                    first_ms = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield Token(piece)
        raw = "".join(pieces)
        confidence = content_confidence(recorded_steps(getattr(generator, "last_stats", None)))
        base = replace(base, prompt_tokens=_evaluated_tokens(generator, suffix), confidence=confidence)
        said_not_found = model_refused(raw, window_marker) or model_refused(raw, prompts.not_found_marker)
        unsure = self._fallback_reason(False, confidence)  # known before any rewrite, which it would waste
        if unsure is None and says_something(raw) and not said_not_found:
            raw = self._in_language(raw, base.language, prompts, base.question)  # as in passage mode
        timings = Timings(retrieve_ms, first_ms, (time.perf_counter() - t0) * 1000)
        passages = list(window.texts)
        refusing = bool(not says_something(raw) or model_refused(raw, window_marker)
                    or model_refused(raw, prompts.not_found_marker)
                    or (self.config.refuse_unsupported_numbers
                        and unsupported_numbers(raw, passages, base.question)))
        reason = unsure or self._fallback_reason(refusing, confidence)
        if reason is not None:
            if pieces:
                yield Restart(reason)
            yield from self._passage_events(replace(base, window=f"{base.window}; {reason}",
                                                    answer_context="passages"),
                                            history, prompts, t0, retrieve_ms)
            return
        if refusing:
            yield from self._refuse(base, prompts, timings, streamed=bool(pieces))
            return
        if local and self.config.support_threshold > 0:
            with self._generate_lock:
                p_support = generator.yes_probability(  # type: ignore[attr-defined]
                    prefix, support_suffix(base.question, raw, base.language), state)
            base = replace(base, window=f"{base.window}; supported p={p_support:.2f}")
            if p_support < self.config.support_threshold:
                timings = Timings(retrieve_ms, first_ms, (time.perf_counter() - t0) * 1000)
                yield from self._refuse(base, prompts, timings, streamed=True)
                return
        yield Done(self._finish_window(base, raw, prompts, timings, window))

    def _fallback_reason(self, refusing: bool, confidence: float | None) -> str | None:
        """Why a window answer is dropped for a passage-mode answer, or None to keep it: the window
        answer is a refusal, or its confidence is below ``window_fallback_confidence`` (0: never)."""
        threshold = self.config.window_fallback_confidence
        if threshold <= 0:
            return None
        if refusing:
            return "the window's answer was a refusal: answered from the best passages"
        if confidence is not None and confidence < threshold:
            return (f"confidence {confidence:.2f} below {threshold:.2f}: answered from the best passages")
        return None

    def _finish_window(self, base: Answer, raw: str, prompts: PromptSet, timings: Timings,
                       window: Window) -> Answer:
        """Citations ``[n]`` number the window's passages: parsed, grounded and mapped back to them."""
        text = raw.strip()
        for marker in (load_window_prompts().not_found_marker, prompts.not_found_marker):
            text = text.replace(marker, "").strip() if marker in text.upper() else text
        hits = window.hits()
        parsed = cite.parse_citations(bracket_passage_references(text), len(hits), first=window.first)
        grounded = ground_citations(parsed.text, list(window.texts), self.config.grounding_margin)
        text, numbers = grounded.text, grounded.numbers
        if not numbers:
            n = self._supporting_passage(text, hits, base.language)
            if n is not None:
                text, numbers = append_citation(text, n), (n,)
        return replace(base, text=text, citations=cite.citations_for(numbers, hits), timings_ms=timings)


def _evaluated_tokens(generator: Generator, suffix: str) -> int | None:
    """Prompt tokens the model read for the last answer (the suffix, plus the prefix if it was not held)."""
    stats = getattr(generator, "last_stats", None)
    if isinstance(stats, dict):
        return int(stats.get("prompt_tokens", 0)) - int(stats.get("cached_tokens", 0))
    if stats is not None and hasattr(stats, "prompt_tokens"):
        return int(stats.prompt_tokens) - int(stats.cached_tokens)
    try:
        return generator.count_tokens([Message("user", suffix)])
    except Exception:  # noqa: BLE001 - a count is a nicety
        return None
