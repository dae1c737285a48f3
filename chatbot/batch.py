"""The batch JSON contract: JSON lines of questions in, one JSON object per line out, in input order.

Each input line is ``{"id": ..., "question": ...}`` or ``{"id": ..., "turns": [q1, q2, ...]}``; the turns
are asked in order as one conversation and the object reports the last one. A line that fails (malformed
JSON, a missing field, a model error) yields ``{"id", "line", "error"}`` and the batch goes on. The
pipeline - and so the model - is shared by the whole batch. This module does not print progress itself
beyond the tqdm bar on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from tqdm import tqdm

from chatbot.errors import ChatbotError, InputError
from chatbot.types import Answer, Turn


@dataclass(frozen=True)
class BatchItem:
    id: str
    line: int
    turns: tuple[str, ...]


def parse_line(raw: str, line_no: int) -> BatchItem:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        raise InputError(f"line {line_no}: not valid JSON ({err.msg} at column {err.colno}).") from None
    if not isinstance(obj, dict):
        raise InputError(f"line {line_no}: expected a JSON object with \"question\" or \"turns\".")
    item_id = str(obj.get("id", line_no))
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
            raise InputError(f"line {line_no}: \"turns\" must be a non-empty list of strings.")
        return BatchItem(item_id, line_no, tuple(turns))
    if isinstance(obj.get("question"), str):
        return BatchItem(item_id, line_no, (obj["question"],))
    raise InputError(f"line {line_no}: expected a \"question\" string or a \"turns\" list.")


def answer_item(pipeline, item: BatchItem) -> Answer:
    """Ask the turns in order as one conversation; return the last answer."""
    history: list[Turn] = []
    answer = None
    for question in item.turns:
        answer = pipeline.ask(question, tuple(history))
        history.append(Turn(question, answer.text, answer.search_query))
    assert answer is not None
    return answer


def run_batch(pipeline, lines: Iterable[str], *, progress: bool = True) -> Iterator[dict]:
    """Yield one result object per non-blank input line, in order."""
    numbered = [(i, raw) for i, raw in enumerate(lines, start=1) if raw.strip()]
    for line_no, raw in tqdm(numbered, desc="Answering", unit="q", disable=not progress, leave=False):
        try:
            item = parse_line(raw, line_no)
        except InputError as err:
            yield {"id": None, "line": line_no, "error": str(err)}
            continue
        try:
            answer = answer_item(pipeline, item)
        except ChatbotError as err:
            yield {"id": item.id, "line": line_no, "question": item.turns[-1], "error": str(err)}
            continue
        except Exception as err:  # noqa: BLE001 - one bad item must not stop the batch
            yield {"id": item.id, "line": line_no, "question": item.turns[-1],
                   "error": f"unexpected {type(err).__name__}: {err}"}
            continue
        yield {"id": item.id, **answer.to_dict()}


def write_results(results: Iterable[dict], out: TextIO) -> int:
    """Write results as JSON lines, flushing each; return how many carried an error."""
    errors = 0
    for result in results:
        errors += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return errors
