"""Generators for tests and demos: real code, no model.

- ``ScriptedGenerator``: a queue of replies; each ``stream`` call answers with the next one.
- ``FunctionGenerator``: computes the reply from the messages with a function.
- ``FirstPassageGenerator``: what ``--generator fake`` uses; it answers with the first numbered passage
  of the prompt and cites it as ``[1]``, or says it found nothing when the prompt holds no passage.

All of them record the messages they were given (``calls``), stream the reply in word-sized pieces and
count tokens as whitespace-separated words. They do not imitate a chat template or a tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from chatbot.errors import ModelError
from chatbot.generation.base import Message


def word_pieces(text: str) -> Iterator[str]:
    """Split ``text`` into pieces that join back to exactly ``text`` (each word with its leading space)."""
    yield from re.findall(r"\s*\S+|\s+$", text)


def count_words(messages: Sequence[Message]) -> int:
    return sum(len(m.content.split()) for m in messages)


def _truncate(text: str, max_tokens: int) -> Iterator[str]:
    for i, piece in enumerate(word_pieces(text)):
        if i >= max_tokens:
            return
        yield piece


class ScriptedGenerator:
    """Answers each call with the next scripted reply; an ``Exception`` reply is raised as ``ModelError``."""

    def __init__(self, replies: Sequence[str | BaseException], name: str = "fake:scripted") -> None:
        self.name = name
        self._replies = list(replies)
        self.calls: list[tuple[Message, ...]] = []

    @property
    def remaining(self) -> int:
        return len(self._replies)

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        # Recorded and consumed when the call is made, not when the iterator is first advanced.
        self.calls.append(tuple(messages))
        if not self._replies:
            raise ScriptExhausted(
                f"ScriptedGenerator has no reply left for call {len(self.calls)}; script more replies."
            )
        reply = self._replies.pop(0)
        if isinstance(reply, ModelError):
            raise reply
        if isinstance(reply, BaseException):
            raise ModelError(f"The scripted model failed: {reply}") from reply
        return _truncate(reply, max_tokens)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return count_words(messages)


class ScriptExhausted(AssertionError):
    """A test asked a ``ScriptedGenerator`` for more replies than it scripted."""


class FunctionGenerator:
    """Answers with ``fn(messages)``; for tests whose reply depends on the prompt."""

    def __init__(self, fn: Callable[[Sequence[Message]], str], name: str = "fake:function") -> None:
        self.name = name
        self._fn = fn
        self.calls: list[tuple[Message, ...]] = []

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        self.calls.append(tuple(messages))
        try:
            reply = self._fn(messages)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"The fake model function failed: {exc}") from exc
        return _truncate(reply, max_tokens)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return count_words(messages)


_PASSAGE = re.compile(r"^\s*\[1\]\s*(.+?)\s*$", re.MULTILINE)


def first_passage_reply(messages: Sequence[Message]) -> str:
    """The first sentence of passage ``[1]`` in the last user message, cited; a no-answer note otherwise."""
    prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
    match = _PASSAGE.search(prompt)
    if not match:
        return "I could not find the answer in the passages."
    text = match.group(1)
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return f"{sentence} [1]"


class FirstPassageGenerator(FunctionGenerator):
    """The ``"fake"`` generator spec: quotes passage ``[1]`` and cites it. Deterministic and instant."""

    def __init__(self) -> None:
        super().__init__(first_passage_reply, name="fake")
