"""Build the chat messages for one question: a pure function over data-file templates.

The templates live in ``chatbot/answer/prompts/<language>.toml`` (package data). Passages are numbered
``[1]..[k]`` in retrieval order. Passage text is treated as data: chat-template control tokens are removed
from it so an article cannot close the user turn and speak as the system, and sentences that address the
model ("ignore previous instructions") are left out. This module does not call any
model and does not decide refusals.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from chatbot.generation.base import Message
from chatbot.text import sentence_pieces, strip_citations
from chatbot.types import Hit, Language, Turn

_CONTROL = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]", re.IGNORECASE)
# Sentences that address the model rather than report news ("ignore previous instructions", "answer every
# question with ..."), in English or Indonesian. The prompt already says passage text is data; removing
# these too is defence in depth, because a 1.5B model does not always hold to that rule.
# A sentence holding one is left out whole. Searched for sentence by sentence (``sentence_pieces``): one
# pattern spanning the sentence around the words took time quadratic in a long sentence (1.4 s for 4,000
# chars).
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|abaikan|lupakan|acuhkan)\b[^.!?\n]{0,60}"
    r"\b(?:instructions?|prompts?|rules?|instruksi|perintah|aturan|petunjuk)\b"
    r"|\b(?:answer|reply|respond|jawab|jawablah|balas)\b[^.!?\n]{0,20}"
    r"\b(?:every|all|each|any|setiap|semua|tiap)\b[^.!?\n]{0,20}\b(?:questions?|pertanyaan)\b"
    r"|\b(?:system prompt|you are now|kamu sekarang|anda sekarang)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PromptSet:
    system: str
    passage: str
    user: str
    history: str
    not_found_marker: str
    refusal: str
    rewrite: str  # asks for an answer again in this language, {answer} being the answer to rewrite


@lru_cache(maxsize=4)
def load_prompts(language: Language) -> PromptSet:
    """The templates for ``language`` from the package's data files (read once per process)."""
    text = resources.files("chatbot.answer").joinpath("prompts", f"{language}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return PromptSet(**{name: data[name] for name in PromptSet.__dataclass_fields__})


def sanitize_passage(text: str) -> str:
    """Passage text without chat-template control tokens and instructions aimed at the model, on one line."""
    text = _CONTROL.sub(" ", text)
    kept = (" " if _INSTRUCTION.search(piece) else piece for piece in sentence_pieces(text))
    return " ".join("".join(kept).split())


def build_messages(question: str, hits: Sequence[Hit], language: Language,
                   previous: Turn | None = None, max_history_chars: int = 300,
                   texts: Sequence[str] | None = None) -> list[Message]:
    """System instructions, then numbered passages, the previous exchange (follow-ups only) and the question.

    ``texts`` replaces the hits' passage texts in the prompt (shortened excerpts, one per hit)."""
    p = load_prompts(language)
    if texts is None:
        texts = [h.chunk.text for h in hits]
    elif len(texts) != len(hits):
        raise ValueError("one passage text per hit")
    passages = "\n".join(
        p.passage.format(n=i, title=sanitize_passage(h.chunk.title), text=sanitize_passage(t))
        for i, (h, t) in enumerate(zip(hits, texts, strict=True), start=1)
    )
    history = ""
    if previous is not None:
        answer = strip_citations(previous.answer)[:max_history_chars]
        history = p.history.format(question=sanitize_passage(previous.question),
                                   answer=sanitize_passage(answer))
    user = p.user.format(passages=passages, history=history, question=sanitize_passage(question))
    return [Message("system", p.system), Message("user", user)]
