"""Load the evaluation sets: ``eval/qa.jsonl`` (questions with reference answers and evidence) and
``eval/retrieval.jsonl`` (queries with the passage they must find).

Every line is checked as it is read; a malformed line stops the load with an ``InputError`` that names the
file and the line, so a typo in the data set is fixed in seconds. Filtering by split and language is here
too. Deliberately not done: no scoring, no checking that quotes occur in the corpus (that is
``tests/test_eval_data.py``'s job) and no model calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from chatbot.boundary import clean_text, scrub
from chatbot.errors import InputError
from chatbot.types import Language

Split = Literal["dev", "heldout", "heldout2"]
LANGUAGES: tuple[Language, ...] = ("id", "en")
SPLITS: tuple[Split, ...] = ("dev", "heldout", "heldout2")


@dataclass(frozen=True)
class EvalItem:
    """One question (or conversation) with its reference answer and gold evidence (ragas field names)."""

    id: str
    language: Language
    type: str
    user_input: str
    reference: str
    keywords: tuple[tuple[str, ...], ...]  # every group must have one alternative in the answer
    reference_contexts: tuple[str, ...]  # verbatim evidence quotes from the cleaned articles
    article_ids: tuple[str, ...]
    answerable: bool
    split: Split
    turns: tuple[str, ...] = ()  # follow-ups only: the questions in order; the last equals user_input

    @property
    def questions(self) -> tuple[str, ...]:
        """The questions to ask in one conversation, in order; the last one is scored."""
        return self.turns or (self.user_input,)


@dataclass(frozen=True)
class RetrievalCheck:
    """A query and the short verbatim evidence a retrieved passage of ``article_id`` must contain."""

    id: str
    language: Language
    query: str
    article_id: str
    evidence: str
    type: str


def _read_jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"The evaluation file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"Cannot read the evaluation file {path}: {err}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path} line {number} is not valid JSON: {err.msg} (column {err.colno})."
                             ) from None
        if not isinstance(row, dict):
            raise InputError(f"{path} line {number} should be a JSON object, not {type(row).__name__}.")
        yield number, row


class _Line:
    """Typed field access for one JSON line; every failure names the file, line and field."""

    def __init__(self, path: Path, number: int, row: dict[str, Any]) -> None:
        self.path, self.number, self.row = path, number, row

    def fail(self, problem: str) -> InputError:
        rid = self.row.get("id")
        where = f"{self.path} line {self.number}" + (f" (id {rid!r})" if isinstance(rid, str) else "")
        return InputError(f"{where}: {problem}.")

    def get(self, name: str, kind: type, default: Any = ...) -> Any:
        if name not in self.row:
            if default is not ...:
                return default
            raise self.fail(f"missing field {name!r}")
        value = self.row[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"field {name!r} should be {kind.__name__}, got {type(value).__name__}")
        return value

    def text(self, name: str) -> str:
        value = self.get(name, str)
        if not value.strip():
            raise self.fail(f"field {name!r} is empty")
        return value

    def strings(self, name: str, default: Any = ...) -> tuple[str, ...]:
        values = self.get(name, list, default)
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(f"field {name!r} should be a list of non-empty strings")
        return tuple(values)

    def choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.text(name)
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(f"field {name!r} is {value!r}; use one of {', '.join(allowed)}")
        return value


def _check_unique(path: Path, seen: dict[str, int], rid: str, number: int) -> None:
    if rid in seen:
        raise InputError(f"{path} line {number}: id {rid!r} is already used on line {seen[rid]}.")
    seen[rid] = number


def load_items(path: Path) -> tuple[EvalItem, ...]:
    """Read ``qa.jsonl``; raises ``InputError`` naming the file and line of the first bad line."""
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, row in _read_jsonl(path):
        line = _Line(Path(path), number, row)
        groups = line.get("keywords", list)
        if not all(isinstance(g, list) and g and all(isinstance(k, str) and k.strip() for k in g)
                   for g in groups):
            raise line.fail("field 'keywords' should be a list of non-empty lists of non-empty strings")
        item = EvalItem(  # questions through the input boundary, as a person's would be (no-op on eval/)
            id=scrub(line.text("id")),
            language=line.choice("language", LANGUAGES),  # type: ignore[arg-type]
            type=line.text("type"),
            user_input=clean_text(line.text("user_input")),
            reference=line.get("reference", str),
            keywords=tuple(tuple(g) for g in groups),
            reference_contexts=line.strings("reference_contexts"),
            article_ids=line.strings("article_ids"),
            answerable=line.get("answerable", bool),
            split=line.choice("split", SPLITS),  # type: ignore[arg-type]
            turns=tuple(clean_text(t) for t in line.strings("turns", ())),
        )
        if item.turns and item.turns[-1] != item.user_input:
            raise line.fail("the last of 'turns' must equal 'user_input'")
        if item.answerable and not item.keywords:
            raise line.fail("an answerable item needs at least one keyword group")
        _check_unique(Path(path), seen, item.id, number)
        items.append(item)
    return tuple(items)


def load_retrieval_checks(path: Path) -> tuple[RetrievalCheck, ...]:
    """Read ``retrieval.jsonl``; raises ``InputError`` naming the file and line of the first bad line."""
    checks: list[RetrievalCheck] = []
    seen: dict[str, int] = {}
    for number, row in _read_jsonl(path):
        line = _Line(Path(path), number, row)
        check = RetrievalCheck(
            id=scrub(line.text("id")),
            language=line.choice("language", LANGUAGES),  # type: ignore[arg-type]
            query=clean_text(line.text("query")),
            article_id=line.text("article_id"),
            evidence=line.text("evidence"),
            type=line.get("type", str, ""),
        )
        _check_unique(Path(path), seen, check.id, number)
        checks.append(check)
    return tuple(checks)


def filter_items(items: Iterable[EvalItem], *, split: str = "all", language: str = "all"
                 ) -> tuple[EvalItem, ...]:
    """The items of one split ("dev", "heldout" or "all") and one language ("id", "en" or "all")."""
    _check_choice("split", split, SPLITS)
    _check_choice("language", language, LANGUAGES)
    return tuple(i for i in items if split in ("all", i.split) and language in ("all", i.language))


def filter_checks(checks: Iterable[RetrievalCheck], *, language: str = "all") -> tuple[RetrievalCheck, ...]:
    _check_choice("language", language, LANGUAGES)
    return tuple(c for c in checks if language in ("all", c.language))


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value != "all" and value not in allowed:
        raise InputError(f"Unknown {name} {value!r}; use one of {', '.join(allowed)} or all.")
