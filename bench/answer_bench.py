"""End-to-end answer benchmark: the project's pipeline against a naive RAG baseline, same models, same run.

    .venv/bin/python bench/answer_bench.py [--items 32] [--split dev] [--threads N] [--passage-budget CHARS]

- **pipeline**: the default configuration (hybrid retrieval, the per-language prompt with numbered
  passages, citation checks, code-side and model-side refusal).
- **naive baseline**: what a minimal LangChain-style stack does: dense top-4, one plain English prompt
  (``bench/baseline_prompt.txt``), no refusal logic, no citation handling.

Both answer the same questions (answerable and unanswerable, Indonesian and English, single turn, spread
evenly over the eval set's chosen split) with the same loaded model. Printed as Markdown: accuracy
(keyword match), refusal of unanswerable questions, over-refusal, time to first token p50/p95, total
p50, prompt tokens, decode speed, model load time and peak memory. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatbot.cli import non_negative_int
from chatbot.config import Config
from chatbot.evaluation import metrics
from chatbot.evaluation.aggregate import percentile
from chatbot.evaluation.dataset import EvalItem, filter_items, load_items
from chatbot.generation.base import Message
from chatbot.pipeline import Pipeline

BASELINE_PROMPT = (REPO / "bench" / "baseline_prompt.txt").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Run:
    item: EvalItem
    text: str
    refused: bool
    first_token_s: float | None
    total_s: float
    prompt_tokens: int
    completion_tokens: int


def pick_items(split: str, n: int) -> list[EvalItem]:
    """``n`` single-turn items spread evenly over the split, so every language and type is
    represented."""
    items = [i for i in filter_items(load_items(REPO / "eval" / "qa.jsonl"), split=split)
             if len(i.questions) == 1]
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def completion_tokens(generator, text: str) -> int:
    llm = generator.load()
    return len(llm.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0


def run_pipeline(pipe: Pipeline, item: EvalItem) -> Run:
    started = time.perf_counter()
    answer = pipe.ask(item.questions[0])
    total = time.perf_counter() - started
    stats = getattr(pipe.generator, "last_stats", None)
    first = (answer.timings_ms.first_token / 1000
             if answer.timings_ms and answer.timings_ms.first_token else None)
    generated = 0 if answer.refused and first is None else completion_tokens(pipe.generator, answer.text)
    return Run(item, answer.text, answer.refused, first, total,
               answer.prompt_tokens or (stats.prompt_tokens if stats else 0), generated)


def run_baseline(pipe: Pipeline, item: EvalItem, max_tokens: int) -> Run:
    started = time.perf_counter()
    hits = pipe.retriever.search(item.questions[0], 4, mode="dense")
    passages = "\n\n".join(h.chunk.text for h in hits)
    messages = [Message("user", BASELINE_PROMPT.format(passages=passages, question=item.questions[0]))]
    gen = pipe.generator
    first = None
    pieces = []
    for piece in gen.stream(messages, max_tokens=max_tokens):
        if first is None:
            first = time.perf_counter() - started
        pieces.append(piece)
    text = "".join(pieces).strip()
    return Run(item, text, False, first, time.perf_counter() - started, gen.count_tokens(messages),
               completion_tokens(gen, text))


def fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def summarize(name: str, runs: list[Run]) -> str:
    answerable = [r for r in runs if r.item.answerable]
    unanswerable = [r for r in runs if not r.item.answerable]
    acc = {lang: [r for r in answerable if r.item.language == lang] for lang in ("id", "en")}

    def accuracy(rs: list[Run]) -> float | None:
        if not rs:
            return None
        return sum((not r.refused) and metrics.keyword_match(r.text, r.item.keywords) == 1.0
                   for r in rs) / len(rs)

    refusal = (sum(r.refused or metrics.hedged(r.text) for r in unanswerable) / len(unanswerable)
               if unanswerable else None)
    over = sum(r.refused for r in answerable) / len(answerable) if answerable else None
    ttft = [r.first_token_s for r in runs if r.first_token_s is not None]
    decode = [r.completion_tokens / (r.total_s - r.first_token_s) for r in runs
              if r.first_token_s is not None and r.completion_tokens > 1 and r.total_s > r.first_token_s]
    prompt = [r.prompt_tokens for r in runs if r.prompt_tokens]
    return (f"| {name} | {fmt(accuracy(acc['id']))} | {fmt(accuracy(acc['en']))} | {fmt(refusal)} | "
            f"{fmt(over)} | {fmt(percentile(ttft, 50))} | {fmt(percentile(ttft, 95))} | "
            f"{fmt(percentile([r.total_s for r in runs], 50))} | "
            f"{fmt(statistics.mean(prompt) if prompt else None, '.0f')} | "
            f"{fmt(statistics.median(decode) if decode else None, '.1f')} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=32, help="questions per variant (default: 32)")
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--passage-budget", type=non_negative_int, metavar="CHARS", default=None,
                        help="also run the pipeline with this prompt budget for passage text (a third "
                             "variant)")
    args = parser.parse_args()

    config = Config(threads=args.threads)
    pipe = Pipeline(config)
    started = time.perf_counter()
    pipe.retriever  # noqa: B018 - load the index and the embedder
    index_s = time.perf_counter() - started
    gen = pipe.generator
    gen.load()
    load_s = getattr(gen, "load_seconds", None)
    items = pick_items(args.split, args.items)
    print(f"{len(items)} questions from the {args.split} split; model {gen.name}; {config.threads} threads",
          file=sys.stderr)

    # One warm-up answer per variant so that neither pays for first-use costs inside the figures.
    pipe.ask(items[-1].questions[0])
    # Each variant answers all the questions in a row, as in one session: llama.cpp keeps the start of the
    # previous prompt in its KV cache, and interleaving the two variants would evict each one's prefix.
    variants: list[tuple[str, Callable[[EvalItem], Run]]] = [
        ("pipeline", lambda item: run_pipeline(pipe, item))]
    if args.passage_budget is not None:
        budgeted = Pipeline(config.with_(passage_budget_chars=args.passage_budget), embedder=pipe.embedder,
                            generator=gen)
        budgeted.ask(items[-1].questions[0])  # its own warm-up: loads the index, fills the sentence cache
        variants.append((f"pipeline, passage budget {args.passage_budget}",
                          lambda item: run_pipeline(budgeted, item)))
    variants.append(("naive baseline", lambda item: run_baseline(pipe, item, config.max_new_tokens)))
    runs: dict[str, list[Run]] = {name: [] for name, _ in variants}
    for name, answer in variants:
        for n, item in enumerate(items, 1):
            runs[name].append(answer(item))
            print(f"  {name} {n}/{len(items)} {item.id}", file=sys.stderr)

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n## Answers: pipeline vs naive baseline (same models, same questions, same run)\n")
    print("| variant | accuracy id | accuracy en | refusal (unanswerable) | over-refusal | TTFT p50 s | "
          "TTFT p95 s | total p50 s | prompt tokens (mean) | decode tok/s (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        print(summarize(name, rs))
    n_un = sum(not i.answerable for i in items)
    print(f"\n{len(items)} questions ({len(items) - n_un} answerable, {n_un} unanswerable). Model load "
          f"{fmt(load_s)} s (assembled GGUF, mmap), index load {index_s:.2f} s, peak RSS {peak_mib:.0f} MiB. "
          f"The baseline's refusal counts a hedged answer (\"not mentioned\") as a refusal.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
