"""Run the eval set through a pipeline and score every item: the ``run_eval`` loop and its records.

Each item's questions are asked in order as one conversation (the history is the ``Turn`` tuples a UI would
keep), and the last answer is scored with ``metrics``. A failing item (any exception) is recorded with its
error and the run goes on. Retrieval is measured separately for dense-only, BM25-only and hybrid search
over the answerable items and the retrieval checks. With an ``AnswerCache`` an item already answered
under the same settings is not asked again.

Deliberately not here: aggregation into rates (``aggregate.py``), files and charts (``report.py``), flags
(``cli.py``). The harness never changes the pipeline's settings.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chatbot.config import Config, RetrievalMode
from chatbot.evaluation import metrics as m
from chatbot.evaluation.cache import AnswerCache, answer_settings, settings_fingerprint
from chatbot.evaluation.dataset import EvalItem, RetrievalCheck
from chatbot.types import Answer, Article, Chunk, Hit, PipelineInfo, Timings, Turn

MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid")
RETRIEVAL_K = 10


class EvalRetriever(Protocol):
    def search(self, query: str, k: int, mode: RetrievalMode | None = None,
               language: str | None = None) -> list[Hit]: ...


class EvalPipeline(Protocol):
    """The part of ``chatbot.pipeline.Pipeline`` the harness uses."""

    config: Config

    @property
    def retriever(self) -> EvalRetriever: ...

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer: ...

    def article(self, article_id: str) -> Article | None: ...

    def info(self) -> PipelineInfo: ...


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CitedPassage:
    n: int
    chunk_id: str
    article_id: str


@dataclass(frozen=True)
class ItemResult:
    """One scored item. A score is ``None`` where it does not apply (see ``score_item``)."""

    id: str
    language: str
    type: str
    split: str
    answerable: bool
    question: str
    turns: tuple[str, ...]
    expected: str
    actual: str = ""
    refused: bool = False
    citations: tuple[CitedPassage, ...] = ()
    search_query: str = ""
    earlier_answers: tuple[str, ...] = ()  # follow-ups: the answers to the turns before the last
    correct: bool | None = None
    keyword_fraction: float | None = None
    token_f1: float | None = None
    refusal_correct: bool | None = None
    over_refused: bool | None = None
    has_valid_citation: bool | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    evidence_ok: bool | None = None
    context_has_evidence: bool | None = None
    language_match: bool | None = None
    hedged: bool | None = None
    timings_ms: Timings | None = None
    prompt_tokens: int | None = None
    window: str | None = None  # window mode: the window note (its choice; the answerability p if checked)
    answer_context: str = "passages"  # what the scored answer was written from: "window" or "passages"
    confidence: float | None = None  # the model's lowest content-token probability (generation/confidence.py)
    cached: bool = False
    error: str | None = None

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the item fails, most important first; empty when it passes."""
        if self.error:
            return ("error",)
        out = []
        if self.answerable:
            if self.refused:
                out.append("over-refused")
            elif not self.correct:
                out.append("wrong")
            elif not self.has_valid_citation:
                out.append("missing citation")
            elif not self.evidence_ok:
                out.append("citation without evidence")
        elif not self.refused:
            out.append("answered (should refuse)")
        if self.language_match is False:
            out.append("wrong language")
        return tuple(out)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["turns"] = list(self.turns)
        out["problems"] = list(self.problems)
        out["passed"] = self.passed
        return out


@dataclass(frozen=True)
class RetrievalResult:
    """Where the gold passage came in one search: for a QA item ("qa") or a retrieval check ("check")."""

    id: str
    source: str
    language: str
    type: str
    mode: str
    query: str
    first_rank: int | None  # 1-based rank of the first passage holding gold evidence, within RETRIEVAL_K
    recall_at_5: float
    recall_at_10: float
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Query:
    """One search to measure: a QA item's question or a retrieval check's query, with its gold quotes."""

    id: str
    source: str  # "qa" or "check"
    language: str
    type: str
    text: str
    quotes: tuple[str, ...]
    article_ids: tuple[str, ...]


@dataclass(frozen=True)
class EvalRun:
    """Everything one run produced; ``aggregate.report_data`` turns it into the report's JSON."""

    created: str
    settings: dict[str, Any]
    fingerprint: str
    info: dict[str, Any] | None
    items: tuple[ItemResult, ...]
    retrieval: tuple[RetrievalResult, ...] = ()
    modes: tuple[RetrievalMode, ...] = MODES
    seconds: float = 0.0
    cached_items: int = 0
    selection: dict[str, Any] = field(default_factory=dict)  # dataset path, split, language, limit


# --------------------------------------------------------------------------- scoring one item


def score_item(item: EvalItem, answers: Sequence[Answer], articles: Mapping[str, str] | None = None,
               *, cached: bool = False) -> ItemResult:
    """Score the last of ``answers`` (one per turn) against the item.

    Applies to answerable items only: correct, keyword_fraction, token_f1 (0 for a refusal), over_refused,
    context_has_evidence; and among those not refused: has_valid_citation, citation_recall, hedged; with
    a citation: citation_precision; among correct answers: evidence_ok. refusal_correct and language_match
    (of the answer or of the refusal message) apply to every item.
    """
    answer = answers[-1]
    quotes, ids = item.reference_contexts, set(item.article_ids)
    cited = [c.chunk for c in answer.citations]
    scores: dict[str, Any] = {
        "refusal_correct": m.refusal_correct(item, answer),
        "language_match": m.language_match(item.language, answer.text),
        "hedged": None if answer.refused else m.hedged(answer.text),
    }
    if item.answerable:
        answered = not answer.refused
        correct = answered and m.keyword_match(answer.text, item.keywords) == 1.0
        scores.update(
            correct=correct,
            keyword_fraction=m.keyword_fraction(answer.text, item.keywords) if answered else 0.0,
            token_f1=m.token_f1(answer.text, item.reference) if answered else 0.0,
            over_refused=m.over_refused(item, answer),
            context_has_evidence=any(m.relevance([h.chunk for h in answer.hits], quotes, articles, ids)),
        )
        if answered:
            scores.update(has_valid_citation=bool(cited),
                          citation_precision=m.citation_precision(cited, quotes, articles, ids),
                          citation_recall=m.citation_recall(cited, quotes, articles, ids))
        if correct:
            scores["evidence_ok"] = m.evidence_ok(True, cited, quotes, articles, ids)
    return ItemResult(
        **_base_record(item),
        actual=answer.text,
        refused=answer.refused,
        citations=tuple(CitedPassage(c.n, c.chunk.chunk_id, c.chunk.article_id) for c in answer.citations),
        search_query=answer.search_query,
        earlier_answers=tuple(a.text for a in answers[:-1]),
        timings_ms=answer.timings_ms,
        prompt_tokens=answer.prompt_tokens,
        window=answer.window,
        answer_context=answer.answer_context,
        confidence=answer.confidence,
        cached=cached,
        **scores,
    )


def _base_record(item: EvalItem) -> dict[str, Any]:
    return {"id": item.id, "language": item.language, "type": item.type, "split": item.split,
            "answerable": item.answerable, "question": item.user_input, "turns": item.questions,
            "expected": item.reference}


def error_record(item: EvalItem, error: BaseException) -> ItemResult:
    """A failed item: it counts as wrong (answerable) or as not refused (unanswerable) in the rates."""
    message = str(error) or type(error).__name__
    return ItemResult(**_base_record(item), correct=False if item.answerable else None, refusal_correct=False,
                      error=f"{type(error).__name__}: {message}")


# --------------------------------------------------------------------------- the run


def _converse(pipeline: EvalPipeline, questions: Sequence[str]) -> tuple[Answer, ...]:
    history: list[Turn] = []
    answers = []
    for question in questions:
        answer = pipeline.ask(question, tuple(history))
        answers.append(answer)
        history.append(Turn.from_answer(question, answer))
    return tuple(answers)


def _warm_up(pipeline: EvalPipeline, question: str) -> None:
    with contextlib.suppress(Exception):  # the item itself will record the error
        pipeline.ask(question)


def _article_texts(pipeline: EvalPipeline, ids: Iterable[str]) -> dict[str, str]:
    texts = {}
    for article_id in sorted(set(ids)):
        article = pipeline.article(article_id)
        if article is not None:
            texts[article_id] = article.text
    return texts


def _progress(iterable: Sequence[Any], enabled: bool, desc: str) -> Iterable[Any]:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit="item", file=sys.stderr, leave=False)


def retrieval_queries(items: Sequence[ItemResult], eval_items: Mapping[str, EvalItem],
                      checks: Sequence[RetrievalCheck]) -> list[Query]:
    """Every search to measure. Answerable items use their question, or for a follow-up the pipeline's
    search query of the last turn (skipped if that item failed). Retrieval checks use their query."""
    out = []
    for record in items:
        item = eval_items[record.id]
        if not item.answerable:
            continue
        if item.turns:
            if record.error or not record.search_query:
                continue
            query = record.search_query
        else:
            query = item.user_input
        out.append(Query(item.id, "qa", item.language, item.type, query, item.reference_contexts,
                         item.article_ids))
    for check in checks:
        out.append(Query(check.id, "check", check.language, check.type, check.query, (check.evidence,),
                         (check.article_id,)))
    return out


def measure_retrieval(retriever: EvalRetriever, queries: Sequence[Query], modes: Sequence[RetrievalMode],
                      articles: Mapping[str, str], *, k: int = RETRIEVAL_K, progress: bool = False
                      ) -> tuple[RetrievalResult, ...]:
    results = []
    for q in _progress(queries, progress, "retrieval"):
        quotes, ids = q.quotes, q.article_ids
        for mode in modes:
            t0 = time.perf_counter()
            hits = retriever.search(q.text, k=k, mode=mode, language=q.language)
            ms = (time.perf_counter() - t0) * 1000
            ranked: list[Chunk] = [h.chunk for h in hits]
            flags = m.relevance(ranked, quotes, articles, ids)
            results.append(RetrievalResult(
                id=q.id, source=q.source, language=q.language, type=q.type, mode=mode, query=q.text,
                first_rank=m.first_relevant_rank(flags),
                recall_at_5=m.recall_at(ranked, quotes, 5, articles, ids) or 0.0,
                recall_at_10=m.recall_at(ranked, quotes, 10, articles, ids) or 0.0, ms=ms))
    return tuple(results)


def run_eval(pipeline: EvalPipeline, items: Sequence[EvalItem], *, limit: int | None = None,
             retrieval_checks: Sequence[RetrievalCheck] = (), modes: Sequence[RetrievalMode] = MODES,
             cache: AnswerCache | None = None, progress: bool = True, warm_up: bool = False) -> EvalRun:
    """Ask every item (the first ``limit`` items and checks when given), score it and measure retrieval.

    Exceptions from the pipeline are recorded per item; only a failure to load the index or the articles
    (needed for every item) stops the run. With ``warm_up``, one throwaway question is asked before the
    first item that is not cached, so loading the models is not counted in the first item's latency.
    """
    started = time.perf_counter()
    created = datetime.now().astimezone().isoformat(timespec="seconds")
    items = tuple(items)[:limit] if limit else tuple(items)
    checks = tuple(retrieval_checks)[:limit] if limit else tuple(retrieval_checks)
    fingerprint = cache.fingerprint if cache is not None else settings_fingerprint(pipeline.config)

    records: list[ItemResult] = []
    articles: dict[str, str] | None = None
    cached_items = 0
    try:
        for item in _progress(items, progress, "eval"):
            answers = cache.get(item.id, item.questions) if cache is not None else None
            from_cache = answers is not None
            if answers is None:
                if warm_up:
                    warm_up = False
                    _warm_up(pipeline, item.questions[0])
                try:
                    answers = _converse(pipeline, item.questions)
                except Exception as err:  # noqa: BLE001 - one bad item must not end the run
                    records.append(error_record(item, err))
                    continue
                if cache is not None:
                    cache.put(item.id, item.questions, answers)
                    cache.save(every=10)
            cached_items += from_cache
            if articles is None:
                articles = _article_texts(pipeline, [a for i in items for a in i.article_ids]
                                          + [c.article_id for c in checks])
            records.append(score_item(item, answers, articles, cached=from_cache))
    finally:
        if cache is not None:
            cache.save()

    retrieval: tuple[RetrievalResult, ...] = ()
    queries = retrieval_queries(records, {i.id: i for i in items}, checks)
    if queries and modes:
        if articles is None:
            articles = _article_texts(pipeline, [a for q in queries for a in q.article_ids])
        retrieval = measure_retrieval(pipeline.retriever, queries, modes, articles, progress=progress)
    try:
        info: dict[str, Any] | None = asdict(pipeline.info())
    except Exception:  # noqa: BLE001 - the info line is a nicety in the report
        info = None
    return EvalRun(created=created, settings=answer_settings(pipeline.config), fingerprint=fingerprint,
                   info=info, items=tuple(records), retrieval=retrieval, modes=tuple(modes),
                   seconds=time.perf_counter() - started, cached_items=cached_items)
