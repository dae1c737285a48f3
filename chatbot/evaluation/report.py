"""Write an eval run as files people read: ``eval/reports/<YYYY-MM-DD_HHMM>_<settings>.md`` and ``.json``,
a PNG chart (accuracy by language and by type, latency p50/p95), a compact terminal summary, and the
results table in Markdown for the README.

Everything renders from the report's JSON dict (``aggregate.report_data``), so a saved ``.json`` can be
rendered again or compared later without the pipeline. Files are written atomically. Deliberately not
here: no scoring and no model calls.
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from chatbot.evaluation.aggregate import HELDOUT_NOTE, report_data
from chatbot.evaluation.harness import EvalRun
from chatbot.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text

LANGUAGE_NAMES = {"id": "Indonesian", "en": "English"}
ROWS = (("accuracy", "accuracy"), ("token_f1", "token F1"), ("refusal_accuracy", "refusal acc."),
        ("over_refusal", "over-refusal"), ("citation_precision", "citation P"),
        ("citation_recall", "citation R"), ("valid_citation", "cited"), ("evidence_ok", "evidence ok"),
        ("language_match", "language"))
MAX_TEXT = 600  # characters of an answer shown in the failing-items list


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    json: Path
    chart: Path | None


# --------------------------------------------------------------------------- small formatting helpers


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def num(value: float | None, digits: int = 0, scale: float = 1.0) -> str:
    return "-" if value is None else f"{value * scale:,.{digits}f}"


def _cell(summary: dict[str, Any], name: str) -> str:
    m = summary[name]
    if m["n"] == 0:
        return "-"
    if name == "accuracy":
        return f"{pct(m['mean'])} ({round(m['mean'] * m['n'])}/{m['n']})"
    return pct(m["mean"])


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _one_line(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def primary_scope(data: dict[str, Any]) -> str:
    """The split the headline numbers are for: dev when it was run, else held-out, else all."""
    summary = data["summary"]
    return ("dev" if "dev" in summary else "heldout" if "heldout" in summary
            else "heldout2" if "heldout2" in summary else "all")


# --------------------------------------------------------------------------- tables


def results_table_markdown(data: dict[str, Any], scope: str | None = None) -> str:
    """The results per language and overall, as a Markdown table (for the README)."""
    scope = scope or primary_scope(data)
    block = data["summary"][scope]
    header = ["", "items"] + [label for _, label in ROWS]
    rows = []
    for lang, summary in block["language"].items():
        name = LANGUAGE_NAMES.get(lang, lang)
        rows.append([name, str(summary["n"])] + [_cell(summary, n) for n, _ in ROWS])
    overall = block["overall"]
    rows.append(["**overall**", str(overall["n"])] + [_cell(overall, n) for n, _ in ROWS])
    return _table(header, rows)


def type_table_markdown(data: dict[str, Any], scope: str) -> str:
    names = ("accuracy", "token_f1", "refusal_accuracy", "evidence_ok", "context_recall")
    header = ["type", "items", "accuracy", "token F1", "refusal acc.", "evidence ok", "context recall"]
    types = data["summary"][scope]["type"]
    rows = [[t, str(s["n"])] + [_cell(s, n) for n in names] for t, s in types.items()]
    return _table(header, rows)


def split_table_markdown(data: dict[str, Any]) -> str:
    names = ("accuracy", "refusal_accuracy", "over_refusal", "evidence_ok", "language_match")
    header = ["split", "items", "accuracy", "refusal acc.", "over-refusal", "evidence ok", "language"]
    rows = [[scope, str(b["overall"]["n"])] + [_cell(b["overall"], n) for n in names]
            for scope, b in data["summary"].items()]
    return _table(header, rows)


def retrieval_table_markdown(data: dict[str, Any]) -> str:
    """One row per mode and query set: hit@1, hit@5, recall@5 and MRR over all queries, hit@5 per language."""
    header = ["mode", "queries", "n", "hit@1", "hit@5", "recall@5", "MRR", "hit@5 id", "hit@5 en", "p50 ms"]
    rows = []
    for mode, sources in data["retrieval"].items():
        for source, label in (("qa", "QA items"), ("check", "retrieval checks")):
            if source not in sources:
                continue
            m, by_lang = sources[source]["overall"], sources[source]["language"]
            per_language = [pct(by_lang[g]["hit@5"]) if g in by_lang else "-" for g in ("id", "en")]
            rows.append([mode, label, str(m["n"]), pct(m["hit@1"]), pct(m["hit@5"]), pct(m["recall@5"]),
                         num(m["mrr"], 3), *per_language, num(m["p50_ms"], 1)])
    return _table(header, rows) if rows else "No retrieval was measured."


def latency_table_markdown(data: dict[str, Any]) -> str:
    lat = data["latency"]
    rows = [[label, num(lat[key]["p50"]), num(lat[key]["p95"]), num(lat[key]["mean"]), str(lat[key]["n"])]
            for key, label in (("retrieve_ms", "retrieval (ms)"), ("first_token_ms", "first token (ms)"),
                               ("total_ms", "total (ms)"), ("prompt_tokens", "prompt tokens"))]
    table = _table(["", "p50", "p95", "mean", "n"], rows)
    if lat.get("answered_in_window") or lat.get("window_fallbacks"):
        table += (f"\n\nWindow mode: {lat['answered_in_window']} answers from a window, "
                  f"{lat['window_fallbacks']} answered again from the passages "
                  "(a refusal or low confidence).")
    return table


# --------------------------------------------------------------------------- the Markdown report


def failing_items(data: dict[str, Any], scope: str | None = None) -> list[dict[str, Any]]:
    """The records that fail, optionally of one split."""
    return [r for r in data["items"] if not r["passed"] and scope in (None, "all", r["split"])]


def _failure_markdown(record: dict[str, Any]) -> str:
    why = ", ".join(record["problems"])
    lines = [f"- **{record['id']}** ({record['type']}, {record['language']}) - {why}"]
    for i, turn in enumerate(record["turns"][:-1]):
        earlier = record["earlier_answers"][i] if i < len(record["earlier_answers"]) else ""
        lines.append(f"  - earlier turn: {_one_line(turn)} -> {_one_line(earlier, 200)}")
    lines.append(f"  - question: {_one_line(record['question'])}")
    lines.append(f"  - expected: {_one_line(record['expected'])}")
    if record["error"]:
        lines.append(f"  - error: `{_one_line(record['error'], 300)}`")
    else:
        lines.append(f"  - actual: {_one_line(record['actual'])}")
        if record["citations"]:
            cited = ", ".join(f"[{c['n']}] {c['article_id']}" for c in record["citations"])
            lines.append(f"  - cited: {cited}")
        if record["context_has_evidence"] is False:
            lines.append("  - the passages given to the model held no gold evidence (a retrieval miss)")
    return "\n".join(lines)


def _settings_line(data: dict[str, Any]) -> str:
    s = data["settings"]
    parts = [f"{k} `{v}`" for k, v in s.items()]
    return ", ".join(parts) + f"; fingerprint `{data['fingerprint']}`"


def render_markdown(data: dict[str, Any]) -> str:
    scope = primary_scope(data)
    sel = data.get("selection") or {}
    overall = data["summary"][scope]["overall"]
    title = data["created"][:16].replace("T", " ")
    out = [f"# Evaluation report, {title}", ""]
    out.append(f"Settings: {_settings_line(data)}.")
    if data.get("info"):
        info = data["info"]
        out.append(f"Index: {info.get('n_articles')} articles, {info.get('n_chunks')} passages in "
                   f"`{info.get('index_dir')}`.")
    out.append(f"Data: `{sel.get('dataset', '?')}`, split {sel.get('split', '?')}, language "
               f"{sel.get('language', '?')}, limit {sel.get('limit') or 'none'}; {len(data['items'])} items "
               f"({data['cached_items']} answers from the cache), {data['seconds']:.0f} s.")
    out += ["", f"## Results ({scope} split)", ""]
    if scope == "heldout":
        out += [f"> {HELDOUT_NOTE}", ""]
    out += [results_table_markdown(data, scope), ""]
    out.append(f"{overall['n_passed']} of {overall['n']} items pass every check; {overall['errors']} failed "
               f"with an error. Evidence ok is the share of correct answers that cite a passage holding the "
               f"gold evidence (target 85%). Hedged answers (not refused, but saying the articles don't "
               f"tell): {pct(overall['hedged']['mean'])}.")
    out += ["", "### By type", "", type_table_markdown(data, scope), ""]
    if scope != "heldout":
        out += ["## Held-out split", "", f"> {HELDOUT_NOTE}", ""]
        if "heldout" in data["summary"]:
            out += [results_table_markdown(data, "heldout"), "", type_table_markdown(data, "heldout"), ""]
        else:
            out += ["Not run (use `--split heldout` or `--split all` for the final report).", ""]
    if len(data["summary"]) > 2:
        out += ["### By split", "", split_table_markdown(data), ""]
    out += ["## Retrieval", "",
            ("Top-10 search per mode for the answerable items (a follow-up uses the pipeline's search query) "
            "and the retrieval checks; a passage is relevant when it holds a gold quote."), "",
            retrieval_table_markdown(data), ""]
    cached = " (answers from the cache keep their original timings)" if data["cached_items"] else ""
    out += ["## Latency", "", f"Of the scored answer of each item{cached}.", "",
            latency_table_markdown(data), ""]
    for split, title in (("dev", "Failing items"), ("heldout", "Failing items, held-out split")):
        if split not in data["summary"]:
            continue
        failures = failing_items(data, split)
        out += [f"## {title} ({len(failures)})", ""]
        out += [_failure_markdown(r) for r in failures] or ["None."]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- terminal summary


def terminal_summary(data: dict[str, Any]) -> str:
    scope = primary_scope(data)
    block = data["summary"][scope]
    cols = (("accuracy", "acc"), ("token_f1", "F1"), ("refusal_accuracy", "refuse"), ("over_refusal", "over"),
            ("citation_precision", "citP"), ("citation_recall", "citR"), ("evidence_ok", "evid"),
            ("language_match", "lang"))
    lines = [(f"eval: {len(data['items'])} items, {data['summary']['all']['overall']['errors']} errors, "
              f"{data['seconds']:.0f} s, {data['cached_items']} from cache; {scope} split:"),
             f"{'':9}{'n':>5}" + "".join(f"{label:>8}" for _, label in cols)]
    groups = list(block["language"].items()) + [("overall", block["overall"])]
    for name, s in groups:
        lines.append(f"{name:9}{s['n']:>5}" + "".join(f"{pct(s[n]['mean'], 0) if s[n]['n'] else '-':>8}"
                                                       for n, _ in cols))
    if scope != "heldout":
        held = data["summary"].get("heldout")
        lines.append("heldout: " + (f"accuracy {pct(held['overall']['accuracy']['mean'])} (final report only)"
                                    if held else "not run (held back for the final report)"))
    parts = []
    for mode, sources in data["retrieval"].items():
        m = sources.get("all", {}).get("overall")
        if m:
            parts.append(f"{mode} {pct(m['hit@5'], 0)}/{num(m['mrr'], 2)}")
    if parts:
        lines.append("retrieval hit@5/MRR: " + ", ".join(parts))
    lat = data["latency"]
    stages = (("retrieve_ms", "retrieve"), ("first_token_ms", "first token"), ("total_ms", "total"))
    lines.append("latency p50/p95 ms: " + ", ".join(
        f"{label} {num(lat[key]['p50'])}/{num(lat[key]['p95'])}" for key, label in stages))
    return "\n".join(lines)


# --------------------------------------------------------------------------- chart


def render_chart(data: dict[str, Any]) -> bytes:
    """PNG: accuracy by language (per split), accuracy by type, latency p50/p95."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_lang, ax_type, ax_lat = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 2.2, 1.2]})
    summary = data["summary"]
    splits = [s for s in ("dev", "heldout") if s in summary] or ["all"]
    langs = list(summary[splits[0]]["language"]) + ["overall"]
    width = 0.8 / len(splits)
    for i, split in enumerate(splits):
        block = summary[split]
        values = [(block["language"].get(g) or {}).get("accuracy", {}).get("mean") if g != "overall"
                  else block["overall"]["accuracy"]["mean"] for g in langs]
        bars = ax_lang.bar([x + i * width for x in range(len(langs))], [v or 0 for v in values], width,
                           label=split)
        ax_lang.bar_label(bars, labels=[pct(v, 0) for v in values], fontsize=7)
    ax_lang.set_xticks([x + width * (len(splits) - 1) / 2 for x in range(len(langs))], langs)
    ax_lang.set_ylim(0, 1.1)
    ax_lang.set_title("Answer accuracy by language")
    ax_lang.legend(fontsize=8)

    types = summary[primary_scope(data)]["type"]
    names = list(types)
    values = [(s["accuracy"] if s["n_answerable"] else s["refusal_accuracy"])["mean"] for s in types.values()]
    labels = [n if types[n]["n_answerable"] else f"{n}\n(refusal)" for n in names]
    bars = ax_type.bar(range(len(names)), [v or 0 for v in values], color="tab:green")
    ax_type.bar_label(bars, labels=[pct(v, 0) for v in values], fontsize=7)
    ax_type.set_xticks(range(len(names)), labels, rotation=30, ha="right", fontsize=8)
    ax_type.set_ylim(0, 1.1)
    ax_type.set_title(f"Accuracy by type ({primary_scope(data)})")

    lat = data["latency"]
    keys = (("retrieve_ms", "retrieval"), ("first_token_ms", "first token"), ("total_ms", "total"))
    for i, (q, color) in enumerate((("p50", "tab:blue"), ("p95", "tab:orange"))):
        ax_lat.bar([x + i * 0.4 for x in range(len(keys))], [(lat[k][q] or 0) / 1000 for k, _ in keys], 0.4,
                   label=q, color=color)
    ax_lat.set_xticks([x + 0.2 for x in range(len(keys))], [label for _, label in keys])
    ax_lat.set_ylabel("seconds")
    ax_lat.set_title("Latency")
    ax_lat.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


# --------------------------------------------------------------------------- files


def settings_slug(data: dict[str, Any]) -> str:
    s = data["settings"]
    sel = data.get("selection") or {}
    parts = [s.get("generator", "?"), s.get("embedder", "?"), s.get("retrieval", "?"),
             f"k{s.get('top_k', '?')}", sel.get("split") or "",
             "" if sel.get("language") in (None, "all") else sel["language"]]
    slug = "_".join(re.sub(r"[^a-z0-9.]+", "-", str(p).lower()).strip("-.") for p in parts if p)
    return slug[:80] or "run"


def report_stem(data: dict[str, Any], out_dir: Path) -> str:
    """``<YYYY-MM-DD_HHMM>_<settings>``, with ``_2``, ``_3`` ... when that name is taken."""
    created = datetime.fromisoformat(data["created"])
    stem = f"{created:%Y-%m-%d_%H%M}_{settings_slug(data)}"
    candidate, n = stem, 1
    while (out_dir / f"{candidate}.json").exists() or (out_dir / f"{candidate}.md").exists():
        n += 1
        candidate = f"{stem}_{n}"
    return candidate


def write_report(run: EvalRun | dict[str, Any], out_dir: Path, *, chart: bool = True) -> ReportFiles:
    """Write the ``.json``, ``.md`` and (unless ``chart=False`` or matplotlib is missing) ``.png``."""
    data = report_data(run) if isinstance(run, EvalRun) else run
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report_stem(data, out_dir)
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    png_path: Path | None = None
    markdown = render_markdown(data)
    if chart:
        try:
            png = render_chart(data)
        except ImportError:
            print("warning: no chart: matplotlib is not installed (pip install matplotlib)", file=sys.stderr)
        else:
            png_path = out_dir / f"{stem}.png"
            atomic_write_bytes(png_path, png)
            image = f"\n![accuracy and latency]({png_path.name})\n\n## Results"
            markdown = markdown.replace("\n## Results", image, 1)
    atomic_write_json(json_path, data)
    atomic_write_text(md_path, markdown)
    return ReportFiles(md_path, json_path, png_path)


def load_report(path: Path) -> dict[str, Any]:
    """A report's JSON, checked to be one."""
    from chatbot.errors import InputError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The report {path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"Cannot read the report {path}: {err}") from None
    if not isinstance(data, dict) or not str(data.get("format", "")).startswith("chatbot-eval/"):
        raise InputError(f"{path} is not an eval report (.json written by `chatbot eval`).")
    return data
