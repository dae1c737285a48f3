"""Generation through an OpenAI-compatible HTTP server (llama.cpp server, llama-cpp-python, vLLM, Ollama).

``OpenAIGenerator`` POSTs the messages to ``{base_url}/chat/completions`` with ``stream: true`` and
yields the ``delta.content`` of each server-sent event until ``data: [DONE]``. It uses only the
standard library (``urllib``), so it needs no extra package. Decoding is greedy by default
(``temperature: 0``); whether the server is deterministic is up to the server.

``count_tokens`` is an estimate, not the server's count: one token per 3.5 characters of content plus 4
per message for the chat template's markers (close for Qwen/Llama tokenizers on Indonesian and English
text, within ~20 %). This module does not start or manage servers.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence

from chatbot.errors import ModelError
from chatbot.generation.base import Message

CHARS_PER_TOKEN = 3.5
TOKENS_PER_MESSAGE = 4


class OpenAIGenerator:
    # Window mode sends each window's prefix byte-identical: the server's own prefix cache (vLLM automatic
    # prefix caching, SGLang's radix cache, llama.cpp server's cache_prompt) then skips re-reading it.
    serves_prefix_cache = True

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None,
                 timeout: float = 120, temperature: float = 0.0, seed: int | None = 0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ModelError(f"The server address {base_url!r} must start with http:// or https://, "
                             f"e.g. http://127.0.0.1:8000/v1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = float(timeout)
        self.temperature = float(temperature)
        self.seed = seed
        self.name = f"openai:{self.base_url}#{model}"

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """An estimate (see the module docstring); the server is not asked."""
        return sum(math.ceil(len(m.content) / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE for m in messages)

    def _request(self, messages: Sequence[Message], max_tokens: int) -> urllib.request.Request:
        body: dict = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": True,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return urllib.request.Request(f"{self.base_url}/chat/completions",
                                      data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        request = self._request(messages, max_tokens)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as err:
            detail = err.read(500).decode("utf-8", "replace").strip()
            raise ModelError(f"The model server at {self.base_url} answered HTTP {err.code}: "
                             f"{detail or err.reason}") from err
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ModelError(f"The model server is unreachable at {self.base_url} ({reason}). "
                             f"Start it, or check the address.") from err
        return self._events(response)

    def _events(self, response) -> Iterator[str]:
        try:
            with response:
                for raw in response:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:"):
                        continue  # blank separators, comments (": ping"), "event:" lines
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    event = json.loads(data)
                    if "error" in event:
                        raise ModelError(f"The model server at {self.base_url} reported an error: "
                                         f"{event['error']}")
                    for choice in event.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield text
        except ModelError:
            raise
        except (OSError, ValueError) as err:  # dropped connection, timeout, malformed JSON
            raise ModelError(f"The connection to the model server at {self.base_url} failed while "
                             f"streaming: {err}") from err
