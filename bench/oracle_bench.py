"""Answer accuracy with perfect retrieval: how much of the gap is retrieval, and how much the model.

    .venv/bin/python bench/oracle_bench.py [--split dev] [--language all] [--limit N] [--report EVAL.json]

Each answerable single-turn question of the eval set is asked with only the passages that hold its gold
evidence (for each gold quote, the passage covering most of it), numbered ``[1]..`` in the production
prompt, with the configured model. The answer is scored like the eval harness scores accuracy (every
keyword group matched; a not-found reply is wrong). With ``--report``, the same questions' accuracy in a
saved eval report (the real pipeline) is printed beside it. Printed as Markdown. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tqdm import tqdm

from chatbot.answer.prompting import build_messages, load_prompts
from chatbot.config import Config
from chatbot.evaluation import metrics
from chatbot.evaluation.dataset import EvalItem, filter_items, load_items
from chatbot.pipeline import Pipeline, model_refused
from chatbot.types import Chunk, Hit


def gold_passages(item: EvalItem, chunks: tuple[Chunk, ...], articles: dict[str, str]) -> list[Chunk]:
    """For each gold quote, the passage that covers most of it (each passage once)."""
    chosen: list[Chunk] = []
    for quote in item.reference_contexts:
        best = max(chunks, key=lambda c: metrics.quote_coverage([c], quote, articles, item.article_ids)[0])
        if best not in chosen:
            chosen.append(best)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--language", choices=["id", "en", "all"], default="all")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--report", type=Path,
                        help="a saved eval report (.json) to compare the same questions")
    args = parser.parse_args()

    config = Config()
    pipe = Pipeline.from_config(config)
    retriever = pipe.retriever
    article_ids = {c.article_id for c in retriever.chunks}
    articles = {aid: article.text for aid in article_ids if (article := pipe.article(aid)) is not None}
    items = [i for i in filter_items(load_items(REPO / "eval" / "qa.jsonl"), split=args.split,
                                     language=args.language) if i.answerable and not i.turns][:args.limit]
    results: dict[str, tuple[str, bool, bool]] = {}
    for item in tqdm(items, desc="oracle", file=sys.stderr):
        hits = [Hit(c, 1.0, r) for r, c in enumerate(gold_passages(item, retriever.chunks, articles), 1)]
        messages = build_messages(item.user_input, hits, item.language)
        text = "".join(pipe.generator.stream(messages, max_tokens=config.max_new_tokens))
        refused = model_refused(text, load_prompts(item.language).not_found_marker)
        correct = not refused and metrics.keyword_match(text, item.keywords) == 1.0
        results[item.id] = (item.language, correct, refused)

    pipeline_correct: dict[str, bool] = {}
    if args.report:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        pipeline_correct = {r["id"]: bool(r["correct"]) for r in report["items"] if r["id"] in results}

    print(f"Perfect retrieval, {args.split} split, answerable single-turn questions, {config.generator}\n")
    header = "| language | questions | accuracy, gold passages only | refused despite the evidence |"
    if pipeline_correct:
        header += " accuracy, pipeline (same questions) |"
    print(header)
    print("|" + "---|" * header.count(" |"))
    for lang in ("id", "en"):
        ids = [i for i, (language, _, _) in results.items() if language == lang]
        if not ids:
            continue
        right = sum(results[i][1] for i in ids)
        row = (f"| {lang} | {len(ids)} | {right / len(ids):.2f} ({right}) | "
               f"{sum(results[i][2] for i in ids)} |")
        if pipeline_correct:
            known = [i for i in ids if i in pipeline_correct]
            if known:
                ok = sum(pipeline_correct[i] for i in known)
                row += f" {ok / len(known):.2f} ({ok} of {len(known)}) |"
            else:
                row += " - |"
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
