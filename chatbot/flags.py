"""argparse types for numeric flags: each accepts only its allowed range and says what that range is.

``int_in(1, 8)`` and ``float_in(-1.0, 1.0)`` return functions for ``add_argument(type=...)`` (their ``range``
attribute, "from 1 to 8", is for help texts); a value out of
range, not a number, or NaN / infinity becomes argparse's usage error with the range in it ("argument
--top-k: must be a whole number from 1 to 8, got '-3'") and exit code 2. The ranges themselves live next to
each flag (``cli.py``, ``web/app.py``, ``evaluation/cli.py``). Nothing else is here.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _range(lo: float | None, hi: float | None, fmt: Callable[[float], str]) -> str:
    if lo is not None and hi is not None:
        return f"from {fmt(lo)} to {fmt(hi)}"
    if lo is not None:
        return f"{fmt(lo)} or more"
    return f"{fmt(hi)} or less" if hi is not None else "any"


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [lo, hi] (either end may be open)."""
    allowed = f"must be a whole number {_range(lo, hi, str)}"

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    parse.range = _range(lo, hi, str)  # type: ignore[attr-defined] - for help texts: "from 1 to 8"
    return parse


def float_in(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi] (NaN and infinity are refused)."""
    allowed = f"must be a number {_range(lo, hi, lambda x: f'{x:g}')}"

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}") from None
        if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{allowed}, got {text!r}")
        return value

    parse.__name__ = "number"
    parse.range = _range(lo, hi, lambda x: f"{x:g}")  # type: ignore[attr-defined]
    return parse
