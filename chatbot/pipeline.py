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

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from chatbot.answer import citations as cite
from chatbot.answer import history as hist
from chatbot.answer.excerpts import SentenceScorer
from chatbot.answer.grounding import ground_citations, unsupported_numbers
from chatbot.answer.language import detect_language
from chatbot.answer.prompting import PromptSet, build_messages, load_prompts
from chatbot.boundary import Prepared, prepare_question
from chatbot.config import Config
from chatbot.embedders import make_embedder
from chatbot.embedders.base import Embedder
from chatbot.errors import ChatbotError, ModelError
from chatbot.generation import make_generator
from chatbot.generation.base import Generator
from chatbot.search.indexing import IndexBuild, ensure_index
from chatbot.search.relevance import NonsenseBaseline, RareTerms
from chatbot.search.retrieval import Retriever
from chatbot.types import (
    Answer,
    Article,
    Done,
    Event,
    Hit,
    Language,
    PipelineInfo,
    Retrieved,
    Timings,
    Token,
    Turn,
)


def model_refused(text: str, marker: str) -> bool:
    """The model said the passages don't answer: the marker opens the reply or is nearly all of it."""
    upper = text.strip().upper()
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
        self._scorer: SentenceScorer | None = None
        self._articles: dict[str, Article] = {}
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self.index_warnings: tuple[str, ...] = ()

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
        on stderr. Without it, loading is silent; the warnings stay in ``index_warnings`` either way."""
        with self._load_lock:
            if self._build is None:
                build = ensure_index(self.config, self.embedder, progress=notify is not None, notify=notify)
                stored = build.stored
                self._articles = {a.article_id: a for a in build.articles}
                self.index_warnings = build.warnings
                self._retriever = Retriever.build(
                    self.embedder, stored.chunks, stored.vectors, stored.vector_index,
                    mode=self.config.retrieval, candidates=self.config.candidates, rrf_k=self.config.rrf_k,
                    corpus_language=self.config.corpus_language,
                    cross_lingual_bm25_weight=self.config.cross_lingual_bm25_weight,
                    cross_lingual_ngram_weight=self.config.cross_lingual_ngram_weight)
                self._build = build
        return self._build

    def info(self) -> PipelineInfo:
        r = self.retriever
        return PipelineInfo(
            embedder=self.config.embedder, generator=self.config.generator, retrieval=self.config.retrieval,
            n_articles=len(self._articles), n_chunks=len(r.chunks), index_dir=str(self.config.index_dir),
            warnings=self.index_warnings)

    def article(self, article_id: str) -> Article | None:
        self.retriever  # noqa: B018 - loads the articles with the index
        return self._articles.get(article_id)

    # --- answering ---------------------------------------------------------------------------------------

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Done):
                return event.answer
        raise ModelError("The pipeline ended without an answer.")  # pragma: no cover - stream always ends Done

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        prepared = prepare_question(question, self.config.max_question_chars)
        return self._stream(prepared, tuple(history)[-self.config.history_turns:])

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
            yield from self._refuse(base, prompts, Timings(retrieve_ms, None, (time.perf_counter() - t0) * 1000))
            return

        texts = self._excerpts((question, query), hits)
        messages = build_messages(question, hits, language, hist.previous_turn(question, history), texts=texts)
        generator = self.generator
        try:
            prompt_tokens = generator.count_tokens(messages)
        except Exception:  # noqa: BLE001 - a count is a nicety, never a reason to fail
            prompt_tokens = None
        pieces: list[str] = []
        first_ms: float | None = None
        with self._generate_lock:
            for piece in self._hold_back_marker(generator.stream(messages, max_tokens=self.config.max_new_tokens),
                                                prompts.not_found_marker):
                if first_ms is None:
                    first_ms = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield Token(piece)
        raw = "".join(pieces)
        timings = Timings(retrieve_ms, first_ms, (time.perf_counter() - t0) * 1000)
        base = replace(base, prompt_tokens=prompt_tokens)
        if not raw.strip() or model_refused(raw, prompts.not_found_marker) or self._invents_numbers(raw, base):
            yield from self._refuse(base, prompts, timings, streamed=bool(pieces))
            return
        yield Done(self._finish(base, raw, prompts, timings))

    def _excerpts(self, queries: Sequence[str], hits: Sequence[Hit]) -> list[str] | None:
        """The passages shortened to the prompt budget (None: whole passages)."""
        budget = self.config.passage_budget_chars
        if budget <= 0:
            return None
        with self._load_lock:
            if self._scorer is None:
                self._scorer = SentenceScorer(self.embedder)
        return self._scorer.excerpts(queries, [h.chunk.text for h in hits], budget)

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
        yield Done(replace(base, text=prompts.refusal, refused=True, citations=(), timings_ms=timings))

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
        if holding and buffer:
            yield buffer

    def _finish(self, base: Answer, raw: str, prompts: PromptSet, timings: Timings) -> Answer:
        marker = prompts.not_found_marker
        text = raw.replace(marker, "").strip() if marker in raw.upper() else raw.strip()
        parsed = cite.parse_citations(text, len(base.hits))
        grounded = ground_citations(parsed.text, [h.chunk.text for h in base.hits], self.config.grounding_margin)
        text, numbers = grounded.text, grounded.numbers
        if not numbers:
            n = self._supporting_passage(text, base.hits, base.language)
            if n is not None:
                text, numbers = cite.append_citation(text, n), (n,)
        return replace(base, text=text, citations=cite.citations_for(numbers, base.hits), timings_ms=timings)

    def _supporting_passage(self, text: str, hits: Sequence[Hit], language: Language) -> int | None:
        """The 1-based number of the passage most similar to an uncited answer, if similar enough."""
        if not hits or not text.strip():
            return None
        sims = self.retriever.similarities(text, [h.chunk for h in hits])
        best = max(range(len(sims)), key=lambda i: sims[i])
        return best + 1 if sims[best] >= self.config.threshold_for(language) else None
