"""The generator interface: chat messages in, a stream of text pieces out.

Backends load their model lazily on first use, once per object, and decode deterministically
unless a temperature above zero is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


class Generator(Protocol):
    name: str  # shown in the UI and reports, e.g. "llama-cpp:qwen2.5-coder-1.5b-instruct-q4_k_m"

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        """Yield the reply piece by piece. Raises ``ModelError`` when the model cannot run."""

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Prompt tokens these messages take once the chat template is applied."""


@dataclass(frozen=True)
class PrefixPrompt:
    """A prompt prefix shared by many questions: the system message and the start of the user message.

    A question's prompt is ``messages(suffix)``: the user message is ``user_prefix + suffix``, so the
    templated prompt starts with the same bytes for every suffix."""

    system: str
    user_prefix: str

    def messages(self, suffix: str) -> list[Message]:
        return [Message("system", self.system), Message("user", self.user_prefix + suffix)]


class PrefixStateGenerator(Generator, Protocol):
    """A generator that can evaluate a prefix once, save its state to a file and answer from it.

    ``state_identity`` names what a saved state depends on besides the prompt (model file, build options);
    a state saved under one identity is never restored under another."""

    def state_identity(self) -> str: ...

    def save_prefix_state(self, prefix: PrefixPrompt, path: Path) -> dict:
        """Evaluate ``prefix`` and save its state (KV cache and tokens) atomically at ``path``; returns
        ``{"tokens", "bytes", "seconds"}``."""

    def stream_with_prefix(self, prefix: PrefixPrompt, suffix: str, state: Path | None, *,
                           max_tokens: int, stop_below: float = 0.0) -> Iterator[str]:
        """The reply to ``prefix.messages(suffix)``, with the prefix restored from ``state`` when given.
        With ``stop_below`` > 0 the reply stops before its first content token whose probability is below it
        (``generation/confidence.py``); the recorded steps then end with that token."""

    def yes_probability(self, prefix: PrefixPrompt, suffix: str, state: Path | None) -> float:
        """P(yes) / (P(yes) + P(no)) of the reply's first token to ``prefix.messages(suffix)``."""


def holds_prefix_states(generator: object) -> bool:
    return all(callable(getattr(generator, name, None))
               for name in ("state_identity", "save_prefix_state", "stream_with_prefix", "yes_probability"))
