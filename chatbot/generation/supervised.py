"""A generator that runs in its own process, so a native crash in the model never takes the caller down.

``SupervisedGenerator`` starts ``python -m chatbot.generation.worker`` on first use and talks to it over
pipes, one JSON object per line (see ``worker``). The child keeps the model and its KV cache for its
lifetime, so llama.cpp's prefix reuse works as it does in-process; each streamed piece costs one short
JSON line on a pipe (microseconds, measured in bench/generation_bench.py).

When the child dies (segfault, abort, out-of-memory kill) or stops answering, the current call raises
``ModelError`` with a message a user can read ("the language model stopped unexpectedly (signal 11,
SIGSEGV); restarting it"), and the next call starts a fresh child. Callers need nothing else: the web
app shows the message in that chat, a batch records the item as an error and goes on, and conversation
histories live with the callers, not here.

One request runs at a time, behind a lock. The child is started in its own session, so a Ctrl-C in the
terminal reaches the parent only; it exits by itself when its stdin closes (the parent went away).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import chatbot
from chatbot.config import Config
from chatbot.errors import InputError, ModelError
from chatbot.generation.base import Message, PrefixPrompt
from chatbot.generation.worker import config_to_json, messages_to_json, prefix_to_json

_EOF = object()


def worker_command() -> list[str]:
    return [sys.executable, "-m", "chatbot.generation.worker"]


def describe_exit(returncode: int) -> str:
    """'signal 11, SIGSEGV' for a signal death, 'exit code 3' otherwise."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"signal {-returncode}, {name}"
    return f"exit code {returncode}"


class _Child:
    """One running worker process and the thread that reads its replies into a queue."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True)
        self.replies: queue.Queue[Any] = queue.Queue()
        self._stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        threading.Thread(target=self._read, args=(self.proc.stdout,), name=f"model-{self.proc.pid}",
                         daemon=True).start()

    def _read(self, out: IO[bytes]) -> None:
        for raw in out:
            try:
                self.replies.put(json.loads(raw))
            except ValueError:
                continue  # not a protocol line
        self.replies.put(_EOF)

    def send(self, request: dict[str, Any]) -> bool:
        try:
            self._stdin.write(json.dumps(request, ensure_ascii=True).encode("ascii") + b"\n")
            self._stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def exit_code(self, wait_s: float = 2.0) -> int | None:
        try:
            return self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill that did not take
            pass


def _stop(child_ref: list[_Child | None]) -> None:
    child = child_ref[0]
    if child is None:
        return
    try:
        child._stdin.close()
    except OSError:
        pass
    if child.exit_code(wait_s=2.0) is None:
        child.kill()


class SupervisedGenerator:
    """Runs the generator named by ``spec`` in a supervised child process (see the module docstring)."""

    def __init__(self, spec: str, config: Config, *, name: str | None = None,
                 command: Sequence[str] | None = None, stall_timeout_s: float | None = None,
                 load_timeout_s: float = 900.0) -> None:
        self.spec = spec
        self.config = config
        self.command = list(command) if command is not None else worker_command()
        self.stall_timeout_s = float(stall_timeout_s if stall_timeout_s is not None
                                     else config.model_stall_timeout_s)
        self.load_timeout_s = float(load_timeout_s)
        self.name = name or spec
        self.last_stats: Any = None
        self.restarts = 0  # children started after the first
        self._child_ref: list[_Child | None] = [None]  # a list, so the finalizer sees the current child
        self._lock = threading.Lock()
        self._next_id = 0
        self._started_once = False
        self._finalizer = weakref.finalize(self, _stop, self._child_ref)

    # --- process management ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first use or after a crash)."""
        child = self._child_ref[0]
        return child.proc.pid if child is not None and child.proc.poll() is None else None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        root = str(Path(chatbot.__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    def _child(self) -> _Child:
        """The running child, started (and its model loaded) if there is none."""
        child = self._child_ref[0]
        if child is not None and child.proc.poll() is None:
            return child
        if child is not None:
            child.kill()
        if self._started_once:
            self.restarts += 1
        self._started_once = True
        try:
            child = _Child(self.command, self._env())
        except OSError as err:
            raise ModelError(f"The language model process could not be started ({err}).") from err
        self._child_ref[0] = child
        self._call(child, {"op": "init", "spec": self.spec, "config": config_to_json(self.config)},
                   timeout_s=self.load_timeout_s, during="while loading")
        return child

    def _died(self, child: _Child, during: str) -> ModelError:
        code = child.exit_code()
        self._child_ref[0] = None
        if code is None:
            child.kill()
            return ModelError(f"The language model process closed its channel {during}; it was stopped "
                              f"and restarts on the next question.")
        return ModelError(f"The language model stopped unexpectedly ({describe_exit(code)}) {during}; "
                          f"restarting it for the next question.")

    def _stalled(self, child: _Child, timeout_s: float, during: str) -> ModelError:
        child.kill()
        self._child_ref[0] = None
        return ModelError(f"The language model stopped responding for {timeout_s:.0f} s {during}; it was "
                          f"stopped and restarts on the next question.")

    def _receive(self, child: _Child, timeout_s: float, during: str) -> dict[str, Any]:
        try:
            reply = child.replies.get(timeout=timeout_s)
        except queue.Empty:
            raise self._stalled(child, timeout_s, during) from None
        if reply is _EOF:
            raise self._died(child, during)
        return reply

    def _send(self, child: _Child, request: dict[str, Any], during: str) -> int:
        self._next_id += 1
        request = {**request, "id": self._next_id}
        if not child.send(request):
            raise self._died(child, during)
        return self._next_id

    def _call(self, child: _Child, request: dict[str, Any], *, timeout_s: float, during: str) -> Any:
        rid = self._send(child, request, during)
        while True:
            reply = self._receive(child, timeout_s, during)
            if reply.get("id") != rid:
                continue  # a late reply to an abandoned request
            if "error" in reply:
                _raise_reported(reply)
            return reply.get("result")

    def close(self) -> None:
        """Stop the child (it also stops when this object is collected or the program exits).

        Not behind the lock: a stream still open elsewhere then ends with the process-closed error.
        """
        _stop(self._child_ref)
        self._child_ref[0] = None

    # --- the Generator interface ----------------------------------------------------------------------

    def count_tokens(self, messages: Sequence[Message]) -> int:
        with self._lock:
            child = self._child()
            return int(self._call(child, {"op": "count_tokens", "messages": messages_to_json(messages)},
                                  timeout_s=self.stall_timeout_s, during="while counting tokens"))

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        if not self._lock.acquire(timeout=self.load_timeout_s):
            raise ModelError("The language model is still busy with another answer; try again shortly.")
        try:
            child = self._child()
            rid = self._send(child, {"op": "stream", "messages": messages_to_json(messages),
                                     "max_tokens": int(max_tokens)}, "while answering")
        except BaseException:
            self._lock.release()
            raise
        return self._pieces(child, rid)

    # --- prefix states (window mode): the states live in the child, which restores and saves them ----

    def state_identity(self) -> str:
        with self._lock:
            child = self._child()
            return str(self._call(child, {"op": "state_identity"}, timeout_s=self.stall_timeout_s,
                                  during="while naming the model"))

    def save_prefix_state(self, prefix: PrefixPrompt, path: Path) -> dict:
        with self._lock:
            child = self._child()
            return dict(self._call(child, {"op": "save_prefix_state", "prefix": prefix_to_json(prefix),
                                           "path": str(path)},
                                   timeout_s=self.load_timeout_s, during="while saving a prefix state"))

    def yes_probability(self, prefix: PrefixPrompt, suffix: str, state: Path | None) -> float:
        with self._lock:
            child = self._child()
            return float(self._call(child, {"op": "yes_probability", "prefix": prefix_to_json(prefix),
                                            "suffix": suffix, "state": str(state) if state else None},
                                    timeout_s=self.stall_timeout_s, during="while checking answerability"))

    def stream_with_prefix(self, prefix: PrefixPrompt, suffix: str, state: Path | None, *,
                           max_tokens: int, stop_below: float = 0.0) -> Iterator[str]:
        if not self._lock.acquire(timeout=self.load_timeout_s):
            raise ModelError("The language model is still busy with another answer; try again shortly.")
        try:
            child = self._child()
            rid = self._send(child, {"op": "stream_with_prefix", "prefix": prefix_to_json(prefix),
                                     "suffix": suffix, "state": str(state) if state else None,
                                     "max_tokens": int(max_tokens), "stop_below": float(stop_below)},
                             "while answering")
        except BaseException:
            self._lock.release()
            raise
        return self._pieces(child, rid)

    def _pieces(self, child: _Child, rid: int) -> Iterator[str]:
        finished = False
        try:
            while True:
                reply = self._receive(child, self.stall_timeout_s, "while answering")
                if reply.get("id") != rid:
                    continue
                if "error" in reply:
                    finished = True
                    _raise_reported(reply)
                if reply.get("done"):
                    finished = True
                    self.last_stats = reply.get("stats")
                    return
                yield reply.get("piece", "")
        except ModelError:
            finished = True
            raise
        finally:
            if not finished:
                self._cancel(child, rid)
            self._lock.release()

    def _cancel(self, child: _Child, rid: int) -> None:
        """The caller stopped reading early: tell the child, and wait for its end of that stream."""
        if self._child_ref[0] is not child or not child.send({"op": "cancel", "id": rid}):
            return
        deadline = time.monotonic() + self.stall_timeout_s
        while time.monotonic() < deadline:
            try:
                reply = child.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if reply is _EOF:
                self._child_ref[0] = None
                return
            if reply.get("id") == rid and ("done" in reply or "error" in reply):
                if reply.get("stats") is not None:
                    self.last_stats = reply["stats"]
                return
        child.kill()
        self._child_ref[0] = None


def _raise_reported(reply: dict[str, Any]) -> None:
    message = str(reply.get("error") or "The language model failed.")
    if reply.get("kind") == "InputError":
        raise InputError(message)
    raise ModelError(message)
