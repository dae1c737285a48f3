"""argparse types for numeric flags: each accepts only its allowed range and says what that range is.

``int_in(1, 8)`` and ``float_in(-1.0, 1.0)`` return callables for ``add_argument(type=...)`` (their ``range``
attribute, "from 1 to 8", is for help texts); a value out of
range, not a number, or NaN / infinity becomes argparse's usage error with the range in it ("argument
--top-k: must be a whole number from 1 to 8, got '-3'") and exit code 2. The ranges themselves live next to
each flag (``cli.py``, ``web/app.py``, ``evaluation/cli.py``). Nothing else is here.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _range(lo: float | None, hi: float | None, fmt: Callable[[float], str]) -> str:
    if lo is not None and hi is not None:
        return f"from {fmt(lo)} to {fmt(hi)}"
    if lo is not None:
        return f"{fmt(lo)} or more"
    return f"{fmt(hi)} or less" if hi is not None else "any"


@dataclass(frozen=True)
class Ranged:
    """An argparse type for numbers in [lo, hi]; ``range`` ("from 1 to 8") is for help texts."""

    kind: type  # int or float
    lo: float | None
    hi: float | None

    @property
    def range(self) -> str:
        return _range(self.lo, self.hi, str if self.kind is int else (lambda x: f"{x:g}"))

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return "whole number" if self.kind is int else "number"

    def __call__(self, text: str) -> Any:
        allowed = f"must be a {self.__name__} {self.range}"
        try:
            value = self.kind(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}") from None
        if not math.isfinite(value) or (self.lo is not None and value < self.lo) or (
                self.hi is not None and value > self.hi):
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}")
        return value


def int_in(lo: int | None = None, hi: int | None = None) -> Ranged:
    """An argparse type: a whole number in [lo, hi] (either end may be open)."""
    return Ranged(int, lo, hi)


def float_in(lo: float | None = None, hi: float | None = None) -> Ranged:
    """An argparse type: a finite number in [lo, hi] (NaN and infinity are refused)."""
    return Ranged(float, lo, hi)
