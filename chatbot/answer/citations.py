"""Parse and validate the ``[n]`` citations in a model's answer.

Numbers are 1-based, as the passages were numbered in the prompt. ``[0]`` and numbers above the count of
passages are dropped from the text and from the citation list, never mapped to some other passage. Group
forms the small models write (``[1, 2]``, ``[1][2]``, ``[1-2]``) are understood. The inputs are not
mutated. Choosing a passage for an answer that cites none is ``attach_by_similarity``'s job, not this
parser's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.types import Citation, Hit

# "[1]", "[1, 2]", "[1,2,3]", "[1-2]", "[1 – 3]", "[1; 2]", also "【1】"
_GROUP = re.compile(r"\s?[\[【]\s*(\d+(?:\s*(?:[,;]|-|–|dan|and)\s*\d+)*)\s*[\]】]")
_NUMBER = re.compile(r"\d+")
_RANGE = re.compile(r"^(\d+)\s*[-–]\s*(\d+)$")


@dataclass(frozen=True)
class ParsedCitations:
    text: str  # the answer with invalid markers removed and groups normalised to "[1][2]"
    numbers: tuple[int, ...]  # valid numbers in order of first appearance
    dropped: tuple[int, ...]  # numbers that pointed at no passage


def _numbers_in(group: str) -> list[int]:
    m = _RANGE.match(group.strip())
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi and hi - lo < 10:
            return list(range(lo, hi + 1))
    return [int(x) for x in _NUMBER.findall(group)]


def parse_citations(text: str, n_passages: int) -> ParsedCitations:
    valid: list[int] = []
    dropped: list[int] = []

    def replace(match: re.Match) -> str:
        kept = []
        for n in _numbers_in(match.group(1)):
            if 1 <= n <= n_passages:
                kept.append(n)
                if n not in valid:
                    valid.append(n)
            else:
                dropped.append(n)
        if not kept:
            return ""
        return " " + "".join(f"[{n}]" for n in dict.fromkeys(kept))

    cleaned = _GROUP.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # no space left before punctuation
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return ParsedCitations(cleaned, tuple(valid), tuple(dropped))


def citations_for(numbers: Sequence[int], hits: Sequence[Hit]) -> tuple[Citation, ...]:
    """Citation objects for valid 1-based numbers into ``hits`` (in prompt order)."""
    return tuple(Citation(n, hits[n - 1].chunk) for n in numbers if 1 <= n <= len(hits))


def append_citation(text: str, n: int) -> str:
    """``text`` with ``[n]`` placed before its final punctuation."""
    stripped = text.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}"
    return f"{stripped} [{n}]"
