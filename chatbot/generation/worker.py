"""The model process: runs one generator and answers requests from ``supervised.SupervisedGenerator``.

Started as ``python -m chatbot.generation.worker``. The protocol is one JSON object per line:

- requests on stdin: ``{"id": 1, "op": "init", "spec": "llama-cpp", "config": {...}}`` once, then
  ``{"id": n, "op": "stream", "messages": [...], "max_tokens": 160}``, ``{"id": n, "op": "count_tokens",
  "messages": [...]}`` or ``{"id": n, "op": "cancel"}`` (stop the stream with that id early); for
  generators that hold prefix states (window mode) also ``state_identity``, ``save_prefix_state``
  (``prefix``, ``path``), ``yes_probability`` (``prefix``, ``suffix``, ``state``) and
  ``stream_with_prefix`` (``prefix``, ``suffix``, ``state``, ``max_tokens``, ``stop_below``; streamed
  like ``stream``);
- replies on the protocol channel: ``{"id": n, "piece": "..."}`` for each streamed piece, then
  ``{"id": n, "done": true, "stats": {...}}``; ``{"id": n, "result": ...}`` for other requests; and
  ``{"id": n, "error": "...", "kind": "ModelError"}`` when a request fails.

The protocol channel is the process's original stdout. File descriptor 1 itself is pointed at stderr
before the model loads, so whatever native code prints cannot corrupt the channel.

A native crash (segfault, abort, out-of-memory kill) ends this process; the supervisor sees the channel
close, reports the signal to the user and starts a new process on the next question. This module holds
no prompt logic: it only runs the generator it was told to make.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO, Any

from chatbot.config import Config
from chatbot.errors import ChatbotError
from chatbot.generation.base import Generator, Message, PrefixPrompt

# Config fields whose values are paths: sent as strings, turned back into Paths here.
_PATH_FIELDS = ("corpus_dir", "index_dir", "cache_dir")


def config_to_json(config: Config) -> dict[str, Any]:
    """The config as plain JSON values, for the init request."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}


def config_from_json(data: dict[str, Any]) -> Config:
    known = {f.name for f in fields(Config)}
    values: dict[str, Any] = {k: (Path(v) if k in _PATH_FIELDS else v) for k, v in data.items() if k in known}
    return Config(**values)


def messages_to_json(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def messages_from_json(data: list[dict[str, str]]) -> list[Message]:
    return [Message(m["role"], m["content"]) for m in data]  # type: ignore[arg-type]


def prefix_to_json(prefix: PrefixPrompt) -> dict[str, str]:
    return {"system": prefix.system, "user_prefix": prefix.user_prefix}


def prefix_from_json(data: dict[str, str]) -> PrefixPrompt:
    return PrefixPrompt(data["system"], data["user_prefix"])


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


class _Channel:
    """Writes one JSON line per reply; ``ensure_ascii`` keeps any string (even a lone surrogate) writable."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, **reply: Any) -> None:
        line = json.dumps(reply, ensure_ascii=True)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def _stats(generator: Any) -> dict[str, Any] | None:
    stats = getattr(generator, "last_stats", None)
    if stats is None or isinstance(stats, dict):  # a dict: a fake's stats, already in the reply's form
        return stats
    return asdict(stats)


def serve(requests: IO[str], channel: _Channel,
          make: Callable[[str, Config], Generator] | None = None) -> int:
    """Answer requests until stdin closes; ``make`` builds the generator (default ``make_generator``)."""
    if make is None:
        from chatbot.generation import make_generator

        make = make_generator

    inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
    cancelled: set[int] = set()
    lock = threading.Lock()

    def read() -> None:  # cancel requests must arrive while a stream runs, so stdin is read in a thread
        for line in requests:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if request.get("op") == "cancel":
                with lock:
                    cancelled.add(int(request.get("id", -1)))
            else:
                inbox.put(request)
        inbox.put(None)

    threading.Thread(target=read, name="worker-stdin", daemon=True).start()
    generator = None
    while True:
        request = inbox.get()
        if request is None:
            return 0
        rid, op = request.get("id"), request.get("op")
        try:
            if op == "init":
                config = config_from_json(request["config"]).with_(model_process=False)
                generator = make(request["spec"], config)
                load = getattr(generator, "load", None)
                if callable(load):
                    load()
                channel.send(id=rid, result={"name": generator.name, "pid": os.getpid()})
            elif generator is None:
                channel.send(id=rid, error="The model process was not initialised.", kind="ModelError")
            elif op == "count_tokens":
                n = generator.count_tokens(messages_from_json(request["messages"]))
                channel.send(id=rid, result=n)
            elif op in ("stream", "stream_with_prefix"):
                if op == "stream":
                    pieces = generator.stream(messages_from_json(request["messages"]),
                                              max_tokens=int(request["max_tokens"]))
                else:
                    pieces = generator.stream_with_prefix(  # type: ignore[attr-defined]
                        prefix_from_json(request["prefix"]), request["suffix"], _path(request.get("state")),
                        max_tokens=int(request["max_tokens"]),
                        stop_below=float(request.get("stop_below", 0.0)))
                try:
                    for piece in pieces:
                        with lock:
                            stop = rid in cancelled
                        if stop:
                            break
                        channel.send(id=rid, piece=piece)
                finally:
                    close = getattr(pieces, "close", None)
                    if callable(close):
                        close()
                channel.send(id=rid, done=True, stats=_stats(generator))
            elif op == "state_identity":
                channel.send(id=rid, result=generator.state_identity())  # type: ignore[attr-defined]
            elif op == "save_prefix_state":
                stats = generator.save_prefix_state(  # type: ignore[attr-defined]
                    prefix_from_json(request["prefix"]), Path(request["path"]))
                channel.send(id=rid, result=stats)
            elif op == "yes_probability":
                p = generator.yes_probability(  # type: ignore[attr-defined]
                    prefix_from_json(request["prefix"]), request["suffix"], _path(request.get("state")))
                channel.send(id=rid, result=float(p))
            else:
                channel.send(id=rid, error=f"Unknown request {op!r}.", kind="ModelError")
        except ChatbotError as err:
            channel.send(id=rid, error=str(err), kind=type(err).__name__)
        except Exception as err:  # noqa: BLE001 - reported to the parent, which raises ModelError
            channel.send(id=rid, error=f"{type(err).__name__}: {err}", kind="ModelError")
        with lock:
            cancelled.discard(rid)


def main(make: Callable[[str, Config], Generator] | None = None) -> int:
    # Keep the original stdout for the protocol; send anything else written to fd 1 to stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    requests = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    return serve(requests, _Channel(proto), make)


if __name__ == "__main__":
    sys.exit(main())
