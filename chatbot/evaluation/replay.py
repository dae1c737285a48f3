"""Replay window mode's confidence fallback on two saved reports, without a model.

Given a window-mode report run with the fallback off (``--fallback-confidence 0``: every window answer and
its ``confidence`` recorded) and a passage-mode report of the same items, ``replay_fallback`` scores what
window mode with the fallback at a threshold would have answered: an item whose window answer was refused,
or whose confidence is below the threshold, takes the passage-mode answer. This is how the default
threshold was chosen on dev before any held-out run (docs/experiments.md, *Window mode: the confidence
fallback*); ``bench/fallback_replay.py`` prints the table. The real pipeline can differ from the replay by
an item or two (a follow-up's earlier turns are answered by the other mode too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]  # one item of a report's "items"


@dataclass(frozen=True)
class Replay:
    threshold: float
    fallbacks: int
    items: int
    correct: Mapping[str, tuple[int, int]]  # language -> (correct, answerable)
    refused: tuple[int, int]  # unanswerable items refused, of all unanswerable
    over_refused: tuple[int, int]  # answerable items refused, of all answerable


def replay_fallback(window: Sequence[Record], passages: Sequence[Record], threshold: float, *,
                    on_refusal: bool = True) -> Replay:
    """Score window mode with the fallback at ``threshold`` from the two runs' records (matched by id; an
    item missing from ``passages`` keeps its window answer)."""
    other = {r["id"]: r for r in passages}
    correct: dict[str, list[int]] = {}
    refused = [0, 0]
    over = [0, 0]
    fallbacks = 0
    for w in window:
        confidence = w.get("confidence")
        falls_back = (on_refusal and bool(w["refused"])) or (
            not w["refused"] and confidence is not None and confidence < threshold)
        used = w
        if falls_back and w["id"] in other:
            used, fallbacks = other[w["id"]], fallbacks + 1
        if w["answerable"]:
            tally = correct.setdefault(w["language"], [0, 0])
            tally[0] += bool(used["correct"])
            tally[1] += 1
            over[0] += bool(used["refused"])
            over[1] += 1
        else:
            refused[0] += bool(used["refused"])
            refused[1] += 1
    return Replay(threshold, fallbacks, len(window), {k: (v[0], v[1]) for k, v in sorted(correct.items())},
                  (refused[0], refused[1]), (over[0], over[1]))
