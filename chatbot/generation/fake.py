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
from chatbot.generation.confidence import ContentConfidence
from chatbot.text import first_sentence


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
_TO_REWRITE = re.compile(r"^Answer: (.+)\Z", re.MULTILINE | re.DOTALL)


def first_passage_reply(messages: Sequence[Message]) -> str:
    """The first sentence of passage ``[1]`` in the last user message, cited; a no-answer note otherwise.

    Asked to rewrite an answer (the prompt ends in "Answer: ..."), it repeats it: a fake cannot translate.
    """
    prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
    match = _PASSAGE.search(prompt)
    if not match:
        rewrite = _TO_REWRITE.search(prompt)
        if rewrite:
            return rewrite.group(1).strip()
        return "I could not find the answer in the passages."
    text = match.group(1)
    return f"{first_sentence(text)} [1]"


class FirstPassageGenerator(FunctionGenerator):
    """The ``"fake"`` generator spec: quotes passage ``[1]`` and cites it. Deterministic and instant."""

    def __init__(self) -> None:
        super().__init__(first_passage_reply, name="fake")


class PrefixStateFake:
    """A generator that holds prefix states, for window-mode tests: it records what it was asked to
    evaluate (``prefilled``: prefixes saved; ``evaluated``: (prefix text or None when restored, suffix) per
    answer) and answers with ``reply(prefix, suffix)``. A "state" file holds the prefix text; its size is
    ``bytes_per_token`` per whitespace word, like a KV cache. ``identity`` stands for the model."""

    def __init__(self, reply: Callable[[str, str], str] | None = None, *, identity: str = "fake-model",
                 bytes_per_token: int = 10, yes: float = 0.9, name: str = "fake:prefix-states",
                 confidence: float | Callable[[str], float] | None = None) -> None:
        """``confidence``: when given, each window answer's words are recorded in ``last_stats`` as the
        model's top tokens with this probability, or with ``confidence(word)`` (see
        ``generation/confidence.py``)."""
        self.name = name
        self.confidence = confidence
        self.last_stats: dict | None = None
        self.identity = identity
        self.bytes_per_token = bytes_per_token
        self.yes = yes
        self._reply = reply or (lambda prefix, suffix: "Jawaban dari jendela [1].")
        self.prefilled: list[str] = []
        self.evaluated: list[tuple[str | None, str]] = []
        self.calls: list[tuple[Message, ...]] = []

    def state_identity(self) -> str:
        return self.identity

    def save_prefix_state(self, prefix, path) -> dict:
        from pathlib import Path

        text = prefix.system + prefix.user_prefix
        self.prefilled.append(text)
        tokens = len(text.split())
        data = text.encode("utf-8")
        data += b"\0" * max(0, tokens * self.bytes_per_token - len(data))
        Path(path).write_bytes(data)
        return {"tokens": tokens, "bytes": len(data), "seconds": 0.0}

    def _evaluate(self, prefix, suffix: str, state) -> None:
        from pathlib import Path

        restored = state is not None and Path(state).is_file() and Path(state).read_bytes().rstrip(b"\0") == (
            prefix.system + prefix.user_prefix).encode("utf-8")
        self.evaluated.append((None if restored else prefix.system + prefix.user_prefix, suffix))

    def stream_with_prefix(self, prefix, suffix: str, state, *, max_tokens: int,
                           stop_below: float = 0.0) -> Iterator[str]:
        """The reply word by word; with ``confidence`` below ``stop_below`` it stops before the first word
        with a letter or digit outside ``[..]``, as the llama.cpp backend does."""
        self._evaluate(prefix, suffix, state)
        self.calls.append(tuple(prefix.messages(suffix)))
        reply = self._reply(prefix.system + prefix.user_prefix, suffix)
        words = list(_truncate(reply, max_tokens))
        steps: list[list] = []
        if self.confidence is not None:
            watch = ContentConfidence()
            for i, word in enumerate(words):
                p = self.confidence(word) if callable(self.confidence) else self.confidence
                steps.append([word, p])
                watch.add(word, p)
                if stop_below > 0 and watch.below(stop_below):
                    words = words[:i]
                    break
        self.last_stats = None if self.confidence is None else {
            "prompt_tokens": len(suffix.split()), "cached_tokens": 0, "top_tokens": steps}
        return iter(words)

    def yes_probability(self, prefix, suffix: str, state) -> float:
        self._evaluate(prefix, suffix, state)
        return self.yes

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        self.calls.append(tuple(messages))
        self.last_stats = None
        return _truncate(first_passage_reply(messages), max_tokens)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return count_words(messages)
