"""What changed between two eval runs: metric deltas per split, language and overall, retrieval and latency
deltas, and the items that flipped (fixed: failed before, pass now; broken: the reverse).

Works on two saved report ``.json`` files only: no pipeline, no model. Deliberately not a significance test:
with ~100 items a change of one or two items is noise; the flipped items say which ones to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatbot.evaluation.report import load_report, num, pct

METRICS = ("accuracy", "token_f1", "refusal_accuracy", "over_refusal", "citation_precision",
           "citation_recall", "valid_citation", "evidence_ok", "language_match")
LOWER_IS_BETTER = {"over_refusal"}


def _delta(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return ""
    diff = (new - old) * 100
    return "=" if abs(diff) < 0.05 else f"{diff:+.1f} pp"


def _mean(block: dict[str, Any] | None, name: str) -> float | None:
    return None if block is None else block[name]["mean"]


def _metric_rows(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    groups = ["overall"] + [g for g in ("id", "en") if g in old["language"] or g in new["language"]]
    header = "| metric | " + " | ".join(groups) + " |"
    lines = [header, "|" + "---|" * (len(groups) + 1)]
    for name in METRICS:
        cells = []
        for g in groups:
            o = old["overall"] if g == "overall" else old["language"].get(g)
            n = new["overall"] if g == "overall" else new["language"].get(g)
            a, b = _mean(o, name), _mean(n, name)
            cells.append(f"{pct(a)} -> {pct(b)} {_delta(a, b)}".strip())
        label = name + (" (lower is better)" if name in LOWER_IS_BETTER else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _settings_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = list(dict.fromkeys([*old["settings"], *new["settings"]]))
    changes = [f"{k}: {old['settings'].get(k)!r} -> {new['settings'].get(k)!r}" for k in keys
               if old["settings"].get(k) != new["settings"].get(k)]
    if not changes and old.get("fingerprint") != new.get("fingerprint"):
        changes.append("same settings, different fingerprint (prompt files or corpus changed)")
    return changes


def _flips(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str], list[str]]:
    before = {r["id"]: r for r in old["items"]}
    after = {r["id"]: r for r in new["items"]}
    fixed, broken = [], []
    for item_id, r in after.items():
        o = before.get(item_id)
        if o is None or o["passed"] == r["passed"]:
            continue
        if r["passed"]:
            fixed.append(f"- {item_id} ({r['split']}): was {', '.join(o['problems'])}; now: "
                         f"{_short(r['actual'])}")
        else:
            actual = _short(r["actual"] or r["error"] or "")
            broken.append(f"- {item_id} ({r['split']}): now {', '.join(r['problems'])}: {actual} "
                          f"(expected: {_short(r['expected'])})")
    only_old = sorted(set(before) - set(after))
    only_new = sorted(set(after) - set(before))
    return fixed, broken, only_old, only_new


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _retrieval_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for mode in new["retrieval"]:
        o = old["retrieval"].get(mode, {}).get("all", {}).get("overall")
        n = new["retrieval"][mode].get("all", {}).get("overall")
        if not o or not n:
            continue
        lines.append(f"- {mode}: hit@5 {pct(o['hit@5'])} -> {pct(n['hit@5'])} "
                     f"{_delta(o['hit@5'], n['hit@5'])}, MRR {num(o['mrr'], 3)} -> {num(n['mrr'], 3)}")
    return lines


def _latency_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("first_token_ms", "first token"), ("total_ms", "total")):
        o, n = old["latency"][key], new["latency"][key]
        lines.append(f"- {label} p50 {num(o['p50'])} -> {num(n['p50'])} ms, "
                     f"p95 {num(o['p95'])} -> {num(n['p95'])} ms")
    return lines


def compare_reports(old_json: Path, new_json: Path) -> str:
    """A Markdown summary of what changed from the run in ``old_json`` to the one in ``new_json``."""
    old, new = load_report(old_json), load_report(new_json)
    out = [f"# {Path(old_json).name} -> {Path(new_json).name}", ""]
    changes = _settings_changes(old, new)
    out += ["Settings changed: " + ("; ".join(changes) if changes else "none") + ".", ""]
    common = [s for s in ("dev", "heldout", "heldout2") if s in old["summary"] and s in new["summary"]]
    for scope in common + (["all"] if len(common) != 1 else []):
        o, n = old["summary"][scope], new["summary"][scope]
        out += [f"## {scope} ({o['overall']['n']} -> {n['overall']['n']} items)", ""]
        out += _metric_rows(o, n) + [""]
    retrieval = _retrieval_lines(old, new)
    if retrieval:
        out += ["## Retrieval (QA items and checks)", "", *retrieval, ""]
    out += ["## Latency", "", *_latency_lines(old, new), ""]
    fixed, broken, only_old, only_new = _flips(old, new)
    out += [f"## Fixed ({len(fixed)})", "", *(fixed or ["None."]), ""]
    out += [f"## Broken ({len(broken)})", "", *(broken or ["None."]), ""]
    if only_old or only_new:
        out += [(f"Items only in the old run: {', '.join(only_old) or 'none'}; only in the new run: "
                f"{', '.join(only_new) or 'none'}."), ""]
    return "\n".join(out).rstrip() + "\n"
