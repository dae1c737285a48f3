"""Window mode's confidence fallback replayed on saved eval reports, per threshold (no model runs).

    .venv/bin/python bench/fallback_replay.py WINDOW.json PASSAGES.json [--thresholds 0.1,0.15,0.2,0.25]

WINDOW.json: a `chatbot eval --answer-context window --fallback-confidence 0` report (each answer's
confidence recorded); PASSAGES.json: a passage-mode report of the same split. Several reports of each kind
may be joined with commas (both held-out splits, say). See chatbot/evaluation/replay.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatbot.evaluation.replay import replay_fallback


def items(paths: str) -> list[dict]:
    out: list[dict] = []
    for path in paths.split(","):
        out += json.loads(Path(path).read_text(encoding="utf-8"))["items"]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("window", help="window-mode report(s) run with --fallback-confidence 0, comma-separated")
    p.add_argument("passages", help="passage-mode report(s) of the same items, comma-separated")
    p.add_argument("--thresholds", default="0.1,0.15,0.2,0.25,0.3")
    p.add_argument("--no-refusal-fallback", action="store_true",
                   help="keep the window's refusals instead of answering them from the passages")
    args = p.parse_args()
    window, passages = items(args.window), items(args.passages)
    if not any(r.get("confidence") is not None for r in window):
        p.error("the window report records no confidence: run it with --fallback-confidence 0")
    print("| threshold | fell back | accuracy id | accuracy en | unanswerable refused | over-refused |")
    print("|---|---|---|---|---|---|")
    for t in [0.0] + [float(x) for x in args.thresholds.split(",")]:
        r = replay_fallback(window, passages, t, on_refusal=not args.no_refusal_fallback and t > 0)
        cells = [f"{a}/{b}" for a, b in (r.correct.get("id", (0, 0)), r.correct.get("en", (0, 0)),
                                         r.refused, r.over_refused)]
        label = "window alone" if t == 0 else f"{t:g}"
        print(f"| {label} | {r.fallbacks}/{r.items} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
