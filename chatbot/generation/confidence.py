"""How sure the model was of an answer's words: the lowest probability it gave a content token.

The generator records, for every step of an answer, its most likely token and that token's probability
(``GenerationStats.top_tokens``; at temperature 0 that is the token it wrote). A content token is one with
a letter or a digit that is not inside a citation marker ``[..]``: choosing [8] over [9] is a question of
citation, not of the answer's facts, and punctuation and the end of the reply carry no facts. The answer's
confidence is the lowest probability among its content tokens: one name or number the model hesitated on
is where an answer goes wrong (the mean hides it). Window mode answers again from the best passages when
it falls below ``Config.window_fallback_confidence``; measured in docs/experiments.md, *Window mode: the
confidence fallback*.

``ContentConfidence`` is the same rule read one step at a time. The llama.cpp backend uses it to stop a
window draft at its first content token below the fallback threshold (``stop_below``): from that step on
the fallback is certain, so the rest of the draft would be decoded only to be thrown away.

Data and small pure helpers; no model calls here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Step = tuple[str, float]  # a generated step: its token's text and probability


class ContentConfidence:
    """The lowest content-token probability so far, fed one generated step at a time."""

    def __init__(self) -> None:
        self.lowest: float | None = None
        self._in_marker = False

    def add(self, text: str, p: float) -> None:
        """Count one step: its token's text and probability."""
        if "[" in text or "【" in text:
            self._in_marker = True
        if not self._in_marker and any(ch.isalnum() for ch in text):
            self.lowest = p if self.lowest is None else min(self.lowest, p)
        if "]" in text or "】" in text:
            self._in_marker = False

    def below(self, threshold: float) -> bool:
        """Whether a content token so far had a probability under ``threshold`` (never for 0)."""
        return self.lowest is not None and self.lowest < threshold


def content_confidence(steps: Sequence[Step]) -> float | None:
    """The lowest probability of a content token (letters or digits, outside ``[..]``), or None when no
    step was recorded or none holds content."""
    tracker = ContentConfidence()
    for text, p in steps:
        tracker.add(text, p)
    return tracker.lowest


def recorded_steps(stats: object) -> tuple[Step, ...]:
    """The generator's ``last_stats.top_tokens``: from the stats object in-process, or from the dict the
    supervised child sends (lists for tuples). Empty when the generator records none."""
    raw: Any = stats.get("top_tokens") if isinstance(stats, Mapping) else getattr(stats, "top_tokens", None)
    if not raw:
        return ()
    return tuple((str(text), float(p)) for text, p in raw)
