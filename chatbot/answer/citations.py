"""Parse and validate the ``[n]`` citations in a model's answer.

Numbers are 1-based, as the passages were numbered in the prompt. ``[0]`` and numbers above the count of
passages are dropped from the text and from the citation list, never mapped to some other passage. Every
marker form ``chatbot.text.CITATION`` knows (``[1, 2]``, ``[1][2]``, ``[1-2]``, ``【1】``) is understood
and written back as ``[1][2]``. The inputs are not mutated. Choosing a passage for an answer that cites
none is the pipeline's job (``Pipeline._supporting_passage``), not this parser's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot.text import CITATION, citation_numbers
from chatbot.types import Citation, Hit


@dataclass(frozen=True)
class ParsedCitations:
    text: str  # the answer with invalid markers removed and groups normalised to "[1][2]"
    numbers: tuple[int, ...]  # valid numbers in order of first appearance
    dropped: tuple[int, ...]  # numbers that pointed at no passage


def parse_citations(text: str, n_passages: int, first: int = 1) -> ParsedCitations:
    """``first``: the number the prompt showed for the first passage (window mode numbers passages through
    the corpus); the markers come back numbered from 1."""
    valid: list[int] = []
    dropped: list[int] = []

    def replace(match: re.Match) -> str:
        kept = []
        for shown in citation_numbers(match.group(2)):
            n = shown - first + 1
            if 1 <= n <= n_passages:
                kept.append(n)
                if n not in valid:
                    valid.append(n)
            else:
                dropped.append(shown)
        space = match.group(1)[:-1]  # the marker takes the one whitespace character right before it
        if not kept:
            return space
        return space + " " + "".join(f"[{n}]" for n in dict.fromkeys(kept))

    cleaned = CITATION.sub(replace, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # no space left before punctuation
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return ParsedCitations(cleaned, tuple(valid), tuple(dropped))


def citations_for(numbers: Sequence[int], hits: Sequence[Hit]) -> tuple[Citation, ...]:
    """Citation objects for valid 1-based numbers into ``hits`` (in prompt order)."""
    return tuple(Citation(n, hits[n - 1].chunk) for n in numbers if 1 <= n <= len(hits))
