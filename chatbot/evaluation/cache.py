"""Remember the pipeline's answers to eval items, so the metrics and the report can be recomputed without
running the model again (``chatbot eval --cached``).

The cache is one JSON Lines file. An entry is keyed by the item id, the question(s) asked and a settings
fingerprint (models, retrieval and answering settings, the prompt files and the corpus), so a changed
setting, prompt or article never serves a stale answer. The file is rewritten atomically. Items that failed
are not cached, so the next run retries them. Deliberately not done: no eviction and no locking (one eval
run at a time writes a cache file).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import Any

from chatbot.config import Config
from chatbot.errors import InputError
from chatbot.fileio import atomic_write_jsonl
from chatbot.types import Answer, Chunk, Citation, Hit, Timings

# Config fields that cannot change an answer: where things are (the corpus is digested by content
# instead) and how the model process is run. Every other field is part of the fingerprint, so a setting
# added to Config invalidates cached answers until it is listed here; a stale answer is never served.
NOT_ANSWER_SETTINGS = frozenset({"corpus_dir", "index_dir", "cache_dir", "threads", "model_process",
                                 "model_stall_timeout_s"})


def answer_settings(config: Config) -> dict[str, Any]:
    """The settings that can change an answer, as plain JSON values (shown in reports)."""
    return {f.name: getattr(config, f.name) for f in fields(config) if f.name not in NOT_ANSWER_SETTINGS}


def _digest_files(paths: Sequence[Path], *, toml: bool = False) -> str:
    """A hash of the files' names and contents; ``toml=True`` hashes the parsed data, so a comment does
    not count."""
    h = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        h.update(path.name.encode("utf-8") + b"\0")
        if toml:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            h.update(json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\0")
        else:
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def settings_fingerprint(config: Config) -> str:
    """A short hash of everything that decides the answers: settings, prompt files and corpus files."""
    prompts = resources.files("chatbot.answer").joinpath("prompts")
    prompt_files = [Path(str(p)) for p in prompts.iterdir() if p.name.endswith(".toml")]
    corpus = Path(config.corpus_dir)
    corpus_files = [p for p in corpus.glob("*.txt") if not p.name.startswith(".")] if corpus.is_dir() else []
    payload = json.dumps({"settings": answer_settings(config),
                          "prompts": _digest_files(prompt_files, toml=True),
                          "corpus": _digest_files(corpus_files)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- answers as JSON


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """Everything the scorer needs, chunks in full (``Answer.to_dict`` is the shorter batch contract)."""
    return {
        "question": answer.question, "language": answer.language, "text": answer.text,
        "refused": answer.refused,
        "citations": [{"n": c.n, "chunk": c.chunk.to_dict()} for c in answer.citations],
        "hits": [{"chunk": h.chunk.to_dict(), "score": float(h.score), "rank": h.rank} for h in answer.hits],
        "timings_ms": asdict(answer.timings_ms), "prompt_tokens": answer.prompt_tokens,
        "search_query": answer.search_query, "notice": answer.notice,
        "answer_context": answer.answer_context, "window": answer.window, "confidence": answer.confidence,
    }


def answer_from_json(data: dict[str, Any]) -> Answer:
    return Answer(
        question=data["question"], language=data["language"], text=data["text"], refused=data["refused"],
        citations=tuple(Citation(c["n"], Chunk.from_dict(c["chunk"])) for c in data["citations"]),
        hits=tuple(Hit(Chunk.from_dict(h["chunk"]), h["score"], h["rank"]) for h in data["hits"]),
        timings_ms=Timings(**data["timings_ms"]), prompt_tokens=data["prompt_tokens"],
        search_query=data["search_query"], notice=data.get("notice"),
        answer_context=data.get("answer_context", "passages"), window=data.get("window"),
        confidence=data.get("confidence"))


# --------------------------------------------------------------------------- the cache file


def cache_key(item_id: str, questions: Sequence[str], fingerprint: str) -> str:
    raw = json.dumps([item_id, list(questions), fingerprint], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class AnswerCache:
    """Answers per (item id, questions, fingerprint) in a JSON Lines file.

    ``reuse=False`` records answers without serving old ones (a normal run that a later ``--cached`` run can
    reuse). ``save()`` writes the file; the harness calls it as it goes and at the end.
    """

    def __init__(self, path: Path, fingerprint: str, *, reuse: bool = True) -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.reuse = reuse
        self.hits = 0
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"Cannot read the answer cache {self.path}: {err}; delete it to start afresh."
                             ) from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self._entries[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"The answer cache {self.path} line {number} is damaged; delete the file to "
                                 "start afresh.") from None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, item_id: str, questions: Sequence[str]) -> tuple[Answer, ...] | None:
        """The cached answers to every turn, or ``None``."""
        if not self.reuse:
            return None
        entry = self._entries.get(cache_key(item_id, questions, self.fingerprint))
        if entry is None:
            return None
        try:
            answers = tuple(answer_from_json(a) for a in entry["answers"])
        except (KeyError, TypeError, ValueError):
            return None  # an entry from an older format: answer again
        self.hits += 1
        return answers

    def put(self, item_id: str, questions: Sequence[str], answers: Sequence[Answer]) -> None:
        key = cache_key(item_id, questions, self.fingerprint)
        self._entries[key] = {"key": key, "id": item_id, "questions": list(questions),
                              "fingerprint": self.fingerprint,
                              "answers": [answer_to_json(a) for a in answers]}
        self._dirty += 1

    def save(self, every: int = 1) -> None:
        """Write the file when at least ``every`` answers were added since the last write."""
        if self._dirty and self._dirty >= every:
            atomic_write_jsonl(self.path, self._entries.values())
            self._dirty = 0
