"""The saved model states of the window prefixes, under ``<index>/window_states/``, within a disk budget.

A state file is named by its key: the sha256 of the prefix text (the window's passages and the rendered
rules), the window prompt file's sha256, and the generator's ``state_identity`` (model file sha256, build
options, context size). Any change to one of them gives a new key, so a stale state is never restored; the
files of keys no longer wanted are deleted by ``ensure``. The generator writes each file atomically (temp
file and rename), so a crash mid-write leaves no half state.

``manifest.json`` beside them records each state's size, tokens and prefill time, and how often each window
was used (by window id, so the counts survive a model change). Past ``budget_bytes`` only the most-used
windows keep a state; the others are "cold" and the pipeline answers them in passage mode.

This module does not build prompts and does not run the model itself: it calls the generator it is given.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.answer.windows import Window, WindowPrompts, load_window_prompts, window_prefix
from chatbot.fileio import atomic_write_json
from chatbot.generation.base import PrefixPrompt, PrefixStateGenerator

FORMAT = 1
FOLDER = "window_states"


def state_key(prefix: PrefixPrompt, prompt_sha256: str, identity: str) -> str:
    """What a state depends on, hashed: the prefix text, the prompt file and the generator identity."""
    h = hashlib.sha256()
    for part in (f"format {FORMAT}", prefix.system, prefix.user_prefix, prompt_sha256, identity):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class EnsureReport:
    built: int
    kept: int
    cold: int
    removed: int
    bytes: int
    prefill_s: float
    tokens: int


class StateStore:
    """The state files of one index folder (see the module docstring)."""

    def __init__(self, index_dir: Path, budget_bytes: int, prompts: WindowPrompts | None = None) -> None:
        self.folder = Path(index_dir) / FOLDER
        self.budget_bytes = int(budget_bytes)
        self.prompts = prompts or load_window_prompts()
        self._manifest: dict[str, Any] | None = None
        self._keys: dict[str, str] = {}  # window id -> key of its state under the current generator
        self._warm: set[str] = set()  # window ids whose state file is present and within the budget

    # --- manifest ---------------------------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            data: dict[str, Any] = {}
            try:
                data = json.loads((self.folder / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError):
                data = {}
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                data = {}
            data.setdefault("format", FORMAT)
            data.setdefault("states", {})
            data.setdefault("uses", {})
            self._manifest = data
        return self._manifest

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.folder / "manifest.json", self.manifest)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.state"

    def uses(self, window_id: str) -> int:
        return int(self.manifest["uses"].get(window_id, 0))

    def record_use(self, window: Window) -> None:
        uses = self.manifest["uses"]
        uses[window.window_id] = int(uses.get(window.window_id, 0)) + 1
        try:
            self._save()
        except OSError:  # a read-only index still answers; the counts are a nicety
            pass

    # --- states ---------------------------------------------------------------------------------------

    def key_for(self, window: Window, identity: str) -> str:
        return state_key(window_prefix(window, self.prompts), self.prompts.sha256, identity)

    def state_for(self, window: Window) -> Path | None:
        """The state file to restore for ``window`` (None: it is cold, answer in passage mode)."""
        if window.window_id not in self._warm:
            return None
        path = self.path(self._keys[window.window_id])
        return path if path.is_file() else None

    def ensure(self, windows: Sequence[Window], generator: PrefixStateGenerator, *,
               progress: bool = True) -> EnsureReport:
        """Keep a state for the most-used windows that fit the budget, building the missing ones, and
        delete every other state file. Returns what it did."""
        identity = generator.state_identity()
        states: dict[str, Any] = self.manifest["states"]
        order = sorted(range(len(windows)), key=lambda i: (-self.uses(windows[i].window_id), i))
        keys = {w.window_id: self.key_for(w, identity) for w in windows}
        known = [s for s in states.values() if s.get("tokens")]
        per_token = (sum(s["bytes"] for s in known) / sum(s["tokens"] for s in known)) if known else None
        total = built = kept = cold = 0
        prefill = 0.0
        tokens = 0
        wanted: set[str] = set()
        self._keys, self._warm = keys, set()
        todo = []
        for i in order:
            w = windows[i]
            key = keys[w.window_id]
            entry = states.get(key)
            if entry is not None and self.path(key).is_file():
                if total + entry["bytes"] <= self.budget_bytes:
                    total += entry["bytes"]
                    wanted.add(key)
                    self._warm.add(w.window_id)
                    kept += 1
                else:
                    cold += 1
                continue
            estimate = per_token * (w.tokens + 200) if per_token else 0
            if self.budget_bytes <= 0 or total + estimate > self.budget_bytes:
                cold += 1
                continue
            total += estimate
            todo.append((w, key, estimate))
        bar = None
        if todo and progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="Prefilling window states", unit="window", file=sys.stderr,
                       leave=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            for w, key, estimate in todo:
                started = time.perf_counter()
                stats = generator.save_prefix_state(window_prefix(w, self.prompts), self.path(key))
                seconds = float(stats.get("seconds") or (time.perf_counter() - started))
                size = int(stats.get("bytes") or self.path(key).stat().st_size)
                total += size - estimate
                if total > self.budget_bytes:  # the estimate was low: this one does not fit after all
                    self.path(key).unlink(missing_ok=True)
                    total -= size
                    cold += 1
                else:
                    states[key] = {"window_id": w.window_id, "article_id": w.article_id,
                                   "bytes": size, "tokens": int(stats.get("tokens") or 0),
                                   "prefill_s": round(seconds, 3), "identity": identity,
                                   "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
                    wanted.add(key)
                    self._warm.add(w.window_id)
                    built += 1
                    prefill += seconds
                    tokens += int(stats.get("tokens") or 0)
                    self._save()
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        removed = 0
        for key in list(states):
            if key not in wanted:
                states.pop(key)
                removed += 1
        for path in self.folder.glob("*.state"):
            if path.stem not in wanted:
                path.unlink(missing_ok=True)
        for path in self.folder.glob("*.tmp*"):
            path.unlink(missing_ok=True)
        self._save()
        return EnsureReport(built, kept, cold, removed, int(total), prefill, tokens)

    def summary(self) -> dict[str, Any]:
        """Size on disk and prefill time of the states kept, for reports."""
        states = [s for k, s in self.manifest["states"].items() if self.path(k).is_file()]
        return {"states": len(states), "bytes": sum(s["bytes"] for s in states),
                "tokens": sum(s.get("tokens", 0) for s in states),
                "prefill_s": round(sum(s.get("prefill_s", 0.0) for s in states), 2)}
