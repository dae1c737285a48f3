"""Turn an ``EvalRun``'s per-item records into rates: per split, language and type, retrieval per mode,
latency percentiles; and the whole report as one JSON-ready dict (``report_data``).

Definitions (each metric is {"mean", "n"}; ``n`` is how many items it applies to):
  accuracy            answerable items whose answer is not refused and matches every keyword group
                      (an item that raised an error counts as wrong)
  keyword_recall      mean share of keyword groups matched, answerable items (0 for a refusal)
  token_f1            mean SQuAD token F1 against the reference, answerable items (0 for a refusal)
  refusal_accuracy    unanswerable items that were refused
  over_refusal        answerable items that were refused
  valid_citation      answered answerable items with at least one citation
  citation_precision  mean share of cited passages holding gold evidence (answers with citations)
  citation_recall     mean share of gold quotes held by the cited passages (answered answerable items)
  evidence_ok         correct answers with a cited passage holding gold evidence (target >= 0.85)
  context_recall      answerable items whose passages given to the model held gold evidence
  language_match      answers (refusal messages included) in the question's language, where detectable
  hedged              answers that say "the articles don't say" without being a refusal (diagnostic)
Retrieval per mode and source ("qa" items, "check" = retrieval checks): hit@1, hit@5, hit@10 (within
``RETRIEVAL_K``), recall@5, MRR@10 and the median search time.

Deliberately not here: no model calls and no rendering (``report.py`` renders this dict).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from chatbot.evaluation.harness import EvalRun, ItemResult, RetrievalResult

REPORT_FORMAT = "chatbot-eval/1"
SCOPES = ("dev", "heldout", "heldout2")
HELDOUT_NOTE = ("The held-out split is held back for the final report only: do not tune prompts, thresholds "
                "or retrieval settings on it.")

ITEM_METRICS: dict[str, tuple[str, Callable[[ItemResult], bool]]] = {
    # name: (record field, which items it is averaged over)
    "accuracy": ("correct", lambda r: r.answerable),
    "keyword_recall": ("keyword_fraction", lambda r: r.answerable),
    "token_f1": ("token_f1", lambda r: r.answerable),
    "refusal_accuracy": ("refusal_correct", lambda r: not r.answerable),
    "over_refusal": ("over_refused", lambda r: r.answerable),
    "valid_citation": ("has_valid_citation", lambda r: True),
    "citation_precision": ("citation_precision", lambda r: True),
    "citation_recall": ("citation_recall", lambda r: True),
    "evidence_ok": ("evidence_ok", lambda r: True),
    "context_recall": ("context_has_evidence", lambda r: True),
    "language_match": ("language_match", lambda r: True),
    "hedged": ("hedged", lambda r: True),
}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def metric(records: Sequence[ItemResult], name: str) -> dict[str, Any]:
    attr, applies = ITEM_METRICS[name]
    values = [float(v) for r in records if applies(r) and (v := getattr(r, attr)) is not None]
    return {"mean": _mean(values), "n": len(values)}


def summarize(records: Sequence[ItemResult]) -> dict[str, Any]:
    """Counts and every item metric over ``records``."""
    out: dict[str, Any] = {
        "n": len(records),
        "n_answerable": sum(r.answerable for r in records),
        "n_unanswerable": sum(not r.answerable for r in records),
        "n_correct": sum(bool(r.correct) for r in records),
        "n_passed": sum(r.passed for r in records),
        "errors": sum(r.error is not None for r in records),
    }
    out.update({name: metric(records, name) for name in ITEM_METRICS})
    return out


def _groups(records: Sequence[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, dict[str, Any]]:
    keys = sorted({key(r) for r in records}, key=lambda k: ({"id": 0, "en": 1}.get(k, 2), k))
    return {k: summarize([r for r in records if key(r) == k]) for k in keys}


def breakdown(records: Sequence[ItemResult]) -> dict[str, Any]:
    """Overall, per language and per type."""
    return {"overall": summarize(records), "language": _groups(records, lambda r: r.language),
            "type": _groups(records, lambda r: r.type)}


def scopes(records: Sequence[ItemResult]) -> dict[str, Any]:
    """The breakdown per split present ("dev", "heldout") and over all items ("all")."""
    present = [s for s in SCOPES if any(r.split == s for r in records)]
    out = {s: breakdown([r for r in records if r.split == s]) for s in present}
    out["all"] = breakdown(records)
    return out


# --------------------------------------------------------------------------- latency


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _spread(values: Sequence[float]) -> dict[str, Any]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "mean": _mean(values),
            "n": len(values)}


def latency(records: Sequence[ItemResult]) -> dict[str, Any]:
    """Percentiles of the scored (last) answer's timings and prompt size, over items without error."""
    timed = [r.timings_ms for r in records if r.timings_ms is not None]
    return {
        "retrieve_ms": _spread([t.retrieve for t in timed]),
        "first_token_ms": _spread([t.first_token for t in timed if t.first_token is not None]),
        "total_ms": _spread([t.total for t in timed]),
        "prompt_tokens": _spread([r.prompt_tokens for r in records if r.prompt_tokens is not None]),
        "from_cache": sum(r.cached for r in records),
        "answered_in_window": sum(r.answer_context == "window" for r in records),
        "window_fallbacks": sum(bool(r.window) and r.answer_context == "passages" for r in records),
    }


# --------------------------------------------------------------------------- retrieval


def retrieval_metrics(results: Sequence[RetrievalResult]) -> dict[str, Any]:
    ranks = [r.first_rank for r in results]

    def hit(k: int) -> float | None:
        return _mean([float(x is not None and x <= k) for x in ranks])

    return {"n": len(results), "hit@1": hit(1), "hit@5": hit(5), "hit@10": hit(10),
            "recall@5": _mean([r.recall_at_5 for r in results]),
            "mrr": _mean([1.0 / x if x else 0.0 for x in ranks]),
            "p50_ms": percentile([r.ms for r in results], 50)}


def retrieval_summary(results: Sequence[RetrievalResult], modes: Sequence[str]) -> dict[str, Any]:
    """{mode: {source: {"overall", "language": {...}, "type": {...}}}} for sources "qa", "check", "all"."""
    out: dict[str, Any] = {}
    for mode in modes:
        of_mode = [r for r in results if r.mode == mode]
        out[mode] = {}
        for source in ("qa", "check", "all"):
            rows = [r for r in of_mode if source in ("all", r.source)]
            if not rows:
                continue
            out[mode][source] = {
                "overall": retrieval_metrics(rows),
                "language": {lang: retrieval_metrics([r for r in rows if r.language == lang])
                             for lang in ("id", "en") if any(r.language == lang for r in rows)},
                "type": {t: retrieval_metrics([r for r in rows if r.type == t])
                         for t in sorted({r.type for r in rows})},
            }
    return out


# --------------------------------------------------------------------------- the report's data


def report_data(run: EvalRun) -> dict[str, Any]:
    """The run as the report's JSON: settings, summaries, retrieval, latency and every record."""
    return {
        "format": REPORT_FORMAT,
        "created": run.created,
        "settings": run.settings,
        "fingerprint": run.fingerprint,
        "info": run.info,
        "selection": run.selection,
        "seconds": round(run.seconds, 2),
        "cached_items": run.cached_items,
        "heldout_note": HELDOUT_NOTE,
        "summary": scopes(run.items),
        "latency": latency(run.items),
        "retrieval": retrieval_summary(run.retrieval, run.modes),
        "items": [r.to_dict() for r in run.items],
        "retrieval_items": [asdict(r) for r in run.retrieval],
    }
