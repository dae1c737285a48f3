"""The batch JSON contract: JSON lines of questions in, one JSON object per input line out, in input order.

Each input line is ``{"id": ..., "question": ...}`` or ``{"id": ..., "turns": [q1, q2, ...]}``; the turns
are asked in order as one conversation and the object reports the last one. Every output object carries the
item's ``id`` exactly as given (a string stays a string, a number a number, ``null`` and objects stay what
they were; ``null`` when there is none) and its 1-based ``line``.

Nothing is lost: N input lines give N output lines. A line that fails for any reason (not UTF-8, not JSON,
a missing field, a blank line, a question that is empty once cleaned, a model error, an unexpected
exception, even a failure while its result is written) becomes ``{"id", "line", "error"}`` and the batch
goes on. An id already used on an earlier line is answered too, and flagged with ``duplicate_of_line``.
The pipeline - and so the model - is shared by the whole batch. This module does not print progress itself
beyond the tqdm bar on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

from chatbot.boundary import json_dumps, scrub
from chatbot.errors import ChatbotError, InputError
from chatbot.types import Answer, Turn

FORMS = "expected a JSON object {\"id\": ..., \"question\": \"...\"} or {\"id\": ..., \"turns\": [\"...\"]}"


@dataclass(frozen=True)
class BatchItem:
    id: Any  # exactly as given in the line: str, int, float, bool, None, list or dict
    line: int
    turns: tuple[str, ...]


class LineError(InputError):
    """A batch line that cannot be asked; ``item_id`` is its id when the line got as far as having one."""

    def __init__(self, message: str, item_id: Any = None) -> None:
        super().__init__(message)
        self.item_id = item_id


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def read_lines(data: bytes) -> list[str]:
    """The lines of a batch file as text: split on ``\\n`` only (JSON strings may hold U+2028 and other
    characters that ``str.splitlines`` would cut at), a final ``\\r`` dropped, bytes that are not UTF-8 kept
    as surrogate escapes for ``parse_line`` to report."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another
    return [raw.removesuffix(b"\r").decode("utf-8", "surrogateescape") for raw in lines]


def _undecodable(raw: str) -> tuple[int, int] | None:
    """(byte, column) of the first byte that was not UTF-8 (kept by ``read_lines`` as U+DC80..U+DCFF)."""
    for col, ch in enumerate(raw, start=1):
        if "\udc80" <= ch <= "\udcff":
            return ord(ch) - 0xDC00, col
    return None


def parse_line(raw: str, line_no: int) -> BatchItem:
    """The item on one line; ``LineError`` (with the id if the line has one) when it cannot be asked."""
    if not raw.strip():
        raise LineError(f"line {line_no}: the line is blank; {FORMS}.")
    bad = _undecodable(raw)
    if bad is not None:
        item_id = None
        try:
            obj = _loads(scrub(raw))
            item_id = obj.get("id") if isinstance(obj, dict) else None
        except (ValueError, RecursionError):
            pass
        raise LineError(f"line {line_no}: not UTF-8 text (byte 0x{bad[0]:02x} at column {bad[1]}); save the "
                        "file as UTF-8.", item_id)
    try:
        obj = _loads(raw)
    except json.JSONDecodeError as err:
        raise LineError(f"line {line_no}: not valid JSON ({err.msg} at column {err.colno}).") from None
    except ValueError as err:
        raise LineError(f"line {line_no}: not valid JSON ({err}).") from None
    except RecursionError:
        raise LineError(f"line {line_no}: not usable JSON (nested too deeply).") from None
    if not isinstance(obj, dict):
        raise LineError(f"line {line_no}: {FORMS}, got a JSON {type(obj).__name__}.")
    item_id = obj.get("id")
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
            raise LineError(f"line {line_no}: \"turns\" must be a non-empty list of strings.", item_id)
        return BatchItem(item_id, line_no, tuple(turns))
    if "question" not in obj:
        raise LineError(f"line {line_no}: {FORMS}; this object has neither \"question\" nor \"turns\".",
                        item_id)
    if not isinstance(obj["question"], str):
        raise LineError(f"line {line_no}: \"question\" must be a string, got "
                        f"{type(obj['question']).__name__ if obj['question'] is not None else 'null'}.",
                        item_id)
    return BatchItem(item_id, line_no, (obj["question"],))


def answer_item(pipeline, item: BatchItem) -> Answer:
    """Ask the turns in order as one conversation; return the last answer."""
    history: list[Turn] = []
    answer = None
    for question in item.turns:
        answer = pipeline.ask(question, tuple(history))
        history.append(Turn.from_answer(answer.question, answer))
    assert answer is not None
    return answer


def _id_key(item_id: Any) -> str | None:
    """A comparable form of an id (``1`` and ``"1"`` differ, key order in an object does not)."""
    if item_id is None:
        return None
    try:
        return json.dumps(item_id, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return repr(item_id)


def _error(item_id: Any, line_no: int | None, message: str, question: str | None = None) -> dict:
    record = {"id": item_id, "line": line_no}
    if question is not None:
        record["question"] = question
    record["error"] = message
    return record


def answer_line(pipeline, raw: str, line_no: int) -> dict:
    """The output object for one input line; never raises (but KeyboardInterrupt)."""
    try:
        item = parse_line(raw, line_no)
    except LineError as err:
        return _error(err.item_id, line_no, str(err))
    except Exception as err:  # noqa: BLE001 - one bad line must not stop the batch
        return _error(None, line_no, f"line {line_no}: unexpected {type(err).__name__}: {err}")
    try:
        answer = answer_item(pipeline, item)
        return {"id": item.id, "line": line_no, **answer.to_dict()}
    except ChatbotError as err:
        return _error(item.id, line_no, str(err), item.turns[-1])
    except Exception as err:  # noqa: BLE001 - one bad item must not stop the batch
        return _error(item.id, line_no, f"unexpected {type(err).__name__}: {err}", item.turns[-1])


def run_batch(pipeline, lines: Iterable[str], *, progress: bool = True) -> Iterator[dict]:
    """Yield one result object per input line, in order; a repeated id is flagged ``duplicate_of_line``."""
    lines = list(lines)
    first_line: dict[str, int] = {}
    for line_no, raw in tqdm(enumerate(lines, start=1), total=len(lines), desc="Answering", unit="q",
                             disable=not progress, leave=False):
        result = answer_line(pipeline, raw, line_no)
        key = _id_key(result.get("id"))
        if key is not None:
            if key in first_line:
                result["duplicate_of_line"] = first_line[key]
            else:
                first_line[key] = line_no
        yield result


def result_line(result: dict) -> tuple[str, bool]:
    """One JSON line for ``result`` and whether it is an error record; a result that cannot be written as
    JSON becomes an error record for its line instead."""
    try:
        return json_dumps(result, allow_nan=False) + "\n", "error" in result
    except Exception as err:  # noqa: BLE001 - e.g. a NaN score, or an object JSON cannot hold
        record = _error(result.get("id"), result.get("line"),
                        f"the result could not be written as JSON ({type(err).__name__}: {err}).")
    try:
        return json_dumps(record, allow_nan=False) + "\n", True
    except Exception:  # noqa: BLE001 - the id itself cannot be written
        record["id"] = None
        try:
            record["id_repr"] = scrub(repr(result.get("id")))[:200]
        except Exception:  # noqa: BLE001 - not even its repr
            record["id_repr"] = f"<{type(result.get('id')).__name__}>"
        return json_dumps(record, allow_nan=False, default=str) + "\n", True


def write_results(results: Iterable[dict], out: TextIO) -> int:
    """Write results as JSON lines, flushing each; return how many carried an error."""
    errors = 0
    for result in results:
        line, failed = result_line(result)
        errors += failed
        out.write(line)
        out.flush()
    return errors
