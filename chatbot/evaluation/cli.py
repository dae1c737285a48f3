"""The ``chatbot eval`` flags and command: load the eval set, run it, write the report, print a summary.

``chatbot/cli.py`` owns the parser and the model flags (``--generator``, ``--retrieval`` ...); it calls
``add_eval_arguments`` for the eval flags and ``run_eval_command`` with a function that builds the pipeline
from the final ``Config``. ``--compare`` only reads two saved reports and builds no pipeline.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from chatbot.config import Config
from chatbot.errors import ChatbotError, InputError
from chatbot.evaluation.aggregate import report_data
from chatbot.evaluation.cache import AnswerCache, settings_fingerprint
from chatbot.evaluation.compare import compare_reports
from chatbot.evaluation.dataset import (
    RetrievalCheck,
    filter_checks,
    filter_items,
    load_items,
    load_retrieval_checks,
)
from chatbot.evaluation.harness import EvalPipeline, run_eval
from chatbot.evaluation.report import terminal_summary, write_report
from chatbot.flags import int_in

DEFAULT_DATASET = Path("eval/qa.jsonl")
DEFAULT_CHECKS = Path("eval/retrieval.jsonl")
DEFAULT_OUT = Path("eval/reports")
CACHE_FILE = "answer_cache.jsonl"
EXIT_ERROR = 2


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("evaluation")
    g.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, metavar="PATH",
                   help=f"questions with reference answers (default: {DEFAULT_DATASET})")
    g.add_argument("--retrieval-checks", type=Path, default=None, metavar="PATH",
                   help=f"retrieval-only checks (default: {DEFAULT_CHECKS}, skipped if absent)")
    g.add_argument("--limit", type=int_in(1), metavar="N",
                   help="only the first N items (and N retrieval checks), 1 or more")
    g.add_argument("--split", choices=["dev", "heldout", "heldout2", "all"], default="dev",
                   help="which split to run (default: dev; heldout and heldout2, in eval/qa_heldout2.jsonl, "
                        "are for the final report only)")
    g.add_argument("--language", choices=["id", "en", "all"], default="all",
                   help="only questions in this language (default: all)")
    g.add_argument("--cached", action="store_true",
                   help="reuse answers recorded by an earlier run with the same settings instead of asking "
                        "the model again (the cache lives in the --out folder)")
    g.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help=f"where reports and the answer cache go (default: {DEFAULT_OUT})")
    g.add_argument("--compare", nargs=2, type=Path, metavar=("OLD.json", "NEW.json"),
                   help="print what changed between two saved reports and exit (runs nothing)")
    g.add_argument("--no-chart", action="store_true", help="do not draw the PNG chart")


def run_eval_command(args: argparse.Namespace, make_pipeline: Callable[[], EvalPipeline],
                     config: Config | None = None) -> int:
    """Run ``chatbot eval``; returns the exit code (0 ok, 1 some items failed with an error, 2 unusable input
    or a failure that stopped the run). ``config`` defaults to the pipeline's own."""
    try:
        return _run(args, make_pipeline, config)
    except ChatbotError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace, make_pipeline: Callable[[], EvalPipeline], config: Config | None) -> int:
    if args.compare:
        print(compare_reports(*args.compare), end="")
        return 0
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be 1 or more.")
    items = filter_items(load_items(args.dataset), split=args.split, language=args.language)
    if not items:
        raise InputError(f"{args.dataset} has no items for split {args.split} and language {args.language}.")
    checks_path = args.retrieval_checks or DEFAULT_CHECKS
    checks: tuple[RetrievalCheck, ...] = ()
    if args.retrieval_checks is not None or checks_path.exists():
        checks = filter_checks(load_retrieval_checks(checks_path), language=args.language)

    pipeline = make_pipeline()
    config = config or pipeline.config
    cache = AnswerCache(Path(args.out) / CACHE_FILE, settings_fingerprint(config), reuse=args.cached)
    run = run_eval(pipeline, items, limit=args.limit, retrieval_checks=checks, cache=cache, progress=True,
                   warm_up=True)
    selection = {"dataset": str(args.dataset), "retrieval_checks": str(checks_path) if checks else None,
                 "split": args.split, "language": args.language, "limit": args.limit}
    run = replace(run, selection=selection)
    errors = [r for r in run.items if r.error]
    if run.items and len(errors) == len(run.items):
        raise ChatbotError(f"Every item failed, so no report was written. The first error: {errors[0].error}")
    data = report_data(run)
    files = write_report(data, args.out, chart=not args.no_chart)
    print(terminal_summary(data))
    print(f"report: {files.markdown}")
    print(f"data:   {files.json}" + (f"\nchart:  {files.chart}" if files.chart else ""))
    if errors:
        print(f"{len(errors)} item(s) failed with an error; see the report's failing items.", file=sys.stderr)
    return 1 if errors else 0
