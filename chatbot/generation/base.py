"""The generator interface: chat messages in, a stream of text pieces out.

Backends load their model lazily on first use, once per object, and decode deterministically
unless a temperature above zero is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
