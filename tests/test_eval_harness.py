"""A small eval run end to end with a fake pipeline (scripted answers, scripted rankings): the aggregated
numbers, the report files, the answer cache, the comparison of two runs and the command's exit codes; and,
when the real pipeline can be built, a run of a few items of eval/qa.jsonl through it with the fake models."""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.errors import ModelError
from chatbot.evaluation.aggregate import report_data
from chatbot.evaluation.cache import AnswerCache, settings_fingerprint
from chatbot.evaluation.cli import add_eval_arguments, run_eval_command
from chatbot.evaluation.compare import compare_reports
from chatbot.evaluation.dataset import EvalItem, RetrievalCheck, load_items
from chatbot.evaluation.harness import run_eval
from chatbot.evaluation.report import render_markdown, results_table_markdown, terminal_summary, write_report
from chatbot.types import Answer, Article, Chunk, Citation, Hit, PipelineInfo, Timings, Turn

REPO = Path(__file__).resolve().parents[1]

S1 = "Konvensi Hanoi ditandatangani oleh 72 negara pada upacara penandatanganan. "
S2 = "Lebih dari 2.500 delegasi dari 119 negara dan wilayah hadir di Hanoi. "
S3 = ("Ketua komite negosiasi adalah Faouzia Boumaiza Mebarki. "
      "Ia menyampaikan terima kasih kepada semua negara anggota atas kerja sama mereka.")
TEXT = S1 + S2 + S3
ARTICLE = Article("art_a", "Konvensi Hanoi", "https://example.vn/a", "example.vn", None, TEXT, "a.txt", "h")


def _chunk(i: int, start: int, end: int) -> Chunk:
    return Chunk(f"c{i}", "art_a", ARTICLE.title, ARTICLE.url, ARTICLE.publisher, TEXT[start:end], start, end)


CHUNKS = (_chunk(0, 0, len(S1)), _chunk(1, len(S1), len(S1 + S2)), _chunk(2, len(S1 + S2), len(TEXT)))
REFUSAL = {"id": "Maaf, artikel-artikel yang tersedia tidak memuat informasi untuk menjawab pertanyaan ini.",
           "en": "Sorry, the articles available don't contain the information to answer this question."}


def qa(id: str, question: str, *, quotes=(), keywords=(), split="dev", turns=(), type="number") -> EvalItem:
    answerable = bool(keywords)
    return EvalItem(id=id, language=id[:2], type=type if answerable else "unanswerable", user_input=question,
                    reference=f"reference for {id}", keywords=tuple(tuple(g) for g in keywords),
                    reference_contexts=tuple(quotes), article_ids=("art_a",) if quotes else (),
                    answerable=answerable, split=split, turns=tuple(turns))


FOLLOW = ("Who chairs the negotiating committee?", "What did she say?")
ITEMS = (
    qa("id-num-001", "Berapa negara yang menandatangani Konvensi Hanoi?", quotes=["oleh 72 negara"],
       keywords=[["72", "tujuh puluh dua"]]),
    qa("en-num-001", "How many delegates attended the signing ceremony?",
       quotes=["Lebih dari 2.500 delegasi"], keywords=[["2,500", "2.500"]]),
    qa("en-follow-001", FOLLOW[1], quotes=["Ia menyampaikan terima kasih kepada semua negara anggota"],
       keywords=[["thank"]], turns=FOLLOW, type="follow_up"),
    qa("en-unans-001", "Who won the World Cup?"),
    qa("id-person-001", "Siapa ketua komite negosiasi?", quotes=["Faouzia Boumaiza Mebarki"],
       keywords=[["Mebarki"]], type="person"),
    qa("id-unans-001", "Berapa biaya upacara penandatanganan?", split="heldout"),
    qa("id-num-002", "Berapa delegasi yang hadir?", quotes=["Lebih dari 2.500 delegasi"],
       keywords=[["2.500"]], split="heldout"),
)
CHECKS = (
    RetrievalCheck("ret-id-001", "id", "72 negara", "art_a", "oleh 72 negara", "number"),
    RetrievalCheck("ret-en-001", "en", "Mebarki", "art_a", "Faouzia Boumaiza Mebarki", "name"),
)
# (text, cited chunk indices, refused) per question; an exception is raised instead.
SCRIPT: dict[str, object] = {
    ITEMS[0].user_input: ("Konvensi Hanoi ditandatangani oleh tujuh puluh dua negara [1].", [0], False),
    ITEMS[1].user_input: ("More than 2,500 delegates attended the ceremony [1].", [0], False),  # wrong cite
    FOLLOW[0]: ("Faouzia Boumaiza Mebarki chairs the committee [1].", [2], False),
    FOLLOW[1]: ("She thanked the member states for their cooperation [1].", [2], False),
    ITEMS[3].user_input: (REFUSAL["en"], [], True),
    ITEMS[4].user_input: (REFUSAL["id"], [], True),  # over-refusal
    ITEMS[5].user_input: ("Biaya upacara adalah 5 miliar rupiah [1].", [1], False),  # should have refused
    ITEMS[6].user_input: ModelError("The language model failed while answering: out of memory."),
}
# Dense (and hybrid) rankings per query; BM25 always returns the chunks in corpus order.
DENSE = {
    ITEMS[0].user_input: [0, 1, 2], ITEMS[1].user_input: [1, 0, 2], ITEMS[4].user_input: [2, 0, 1],
    ITEMS[6].user_input: [0, 2, 1], f"{FOLLOW[0]} {FOLLOW[1]}": [2, 0, 1], "72 negara": [0, 1, 2],
}


@dataclass
class FakeRetriever:
    calls: list[tuple[str, int, str]] = field(default_factory=list)

    def search(self, query: str, k: int, mode: str | None = None, language: str | None = None) -> list[Hit]:
        self.calls.append((query, k, mode))
        order = DENSE.get(query, [0, 1, 2]) if mode in ("dense", "hybrid") else [0, 1, 2]
        return [Hit(CHUNKS[i], 1.0 - r / 10, r + 1) for r, i in enumerate(order[:k])]


class FakePipeline:
    def __init__(self, config: Config, script: dict[str, object] = SCRIPT) -> None:
        self.config = config
        self.retriever = FakeRetriever()
        self.script = script
        self.asked: list[tuple[str, tuple[Turn, ...]]] = []

    def ask(self, question: str, history=()) -> Answer:
        self.asked.append((question, tuple(history)))
        entry = self.script[question]
        if isinstance(entry, Exception):
            raise entry
        text, cited, refused = entry
        query = f"{history[-1].question} {question}" if history else question
        hits = tuple(Hit(c, 0.9 - i / 10, i + 1) for i, c in enumerate(CHUNKS))
        language = "en" if question[:3] in ("How", "Who", "Wha") else "id"
        return Answer(question=question, language=language, text=text, refused=refused,
                      citations=tuple(Citation(i + 1, CHUNKS[i]) for i in cited), hits=hits,
                      timings_ms=Timings(10.0, None if refused else 100.0, 200.0 if not refused else 12.0),
                      prompt_tokens=None if refused else 300, search_query=query)

    def article(self, article_id: str) -> Article | None:
        return ARTICLE if article_id == "art_a" else None

    def info(self) -> PipelineInfo:
        return PipelineInfo("fake", "fake:scripted", "hybrid", 1, len(CHUNKS), "index")


@pytest.fixture
def config(tmp_path) -> Config:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(TEXT, encoding="utf-8")
    return Config(corpus_dir=corpus, index_dir=tmp_path / "index", embedder="fake", generator="fake:scripted")


def by_id(run):
    return {r.id: r for r in run.items}


def test_run_scores_every_item_and_records_errors(config):
    pipe = FakePipeline(config)
    run = run_eval(pipe, ITEMS, retrieval_checks=CHECKS, progress=False)
    r = by_id(run)
    assert len(run.items) == len(ITEMS)
    # the follow-up was asked as one conversation: the second turn got the first as history
    question, history = pipe.asked[3]
    assert question == FOLLOW[1] and history == (Turn(FOLLOW[0], SCRIPT[FOLLOW[0]][0], FOLLOW[0]),)
    assert r["en-follow-001"].earlier_answers == (SCRIPT[FOLLOW[0]][0],)
    assert r["id-num-001"].correct and r["id-num-001"].evidence_ok and r["id-num-001"].passed
    assert r["en-num-001"].correct and not r["en-num-001"].evidence_ok
    assert r["en-num-001"].citation_precision == 0.0
    assert r["en-num-001"].problems == ("citation without evidence",)
    assert r["en-follow-001"].passed
    assert r["en-unans-001"].refusal_correct and r["en-unans-001"].language_match is True
    assert r["id-person-001"].problems == ("over-refused",)
    assert r["id-unans-001"].problems == ("answered (should refuse)",)
    assert r["id-num-002"].error.startswith("ModelError") and r["id-num-002"].problems == ("error",)
    assert run.settings["generator"] == "fake:scripted" and run.info["n_chunks"] == 3


def test_aggregated_numbers(config):
    data = report_data(run_eval(FakePipeline(config), ITEMS, retrieval_checks=CHECKS, progress=False))
    dev = data["summary"]["dev"]
    o = dev["overall"]
    assert (o["n"], o["n_answerable"], o["n_unanswerable"]) == (5, 4, 1)
    assert o["accuracy"] == {"mean": 0.75, "n": 4}  # 3 correct of 4 answerable (one over-refused)
    assert o["over_refusal"]["mean"] == 0.25
    assert o["refusal_accuracy"] == {"mean": 1.0, "n": 1}
    assert o["evidence_ok"]["mean"] == pytest.approx(2 / 3)  # of the 3 correct, one cites the wrong passage
    assert o["citation_precision"]["mean"] == pytest.approx(2 / 3)
    assert o["valid_citation"]["mean"] == 1.0
    assert dev["language"]["id"]["accuracy"]["mean"] == 0.5
    assert dev["language"]["en"]["accuracy"]["mean"] == 1.0
    assert dev["type"]["unanswerable"]["refusal_accuracy"]["mean"] == 1.0
    held = data["summary"]["heldout"]["overall"]
    assert held["errors"] == 1 and held["accuracy"]["mean"] == 0.0 and held["refusal_accuracy"]["mean"] == 0.0
    assert data["summary"]["all"]["overall"]["accuracy"]["mean"] == pytest.approx(3 / 5)
    # latency of the scored answers (the error item has none); refusals have no first token
    lat = data["latency"]
    assert lat["total_ms"]["n"] == 6 and lat["first_token_ms"]["n"] == 4
    assert lat["prompt_tokens"]["mean"] == 300


def test_retrieval_per_mode(config):
    pipe = FakePipeline(config)
    data = report_data(run_eval(pipe, ITEMS, retrieval_checks=CHECKS, progress=False))
    assert {k for _, k, _ in pipe.retriever.calls} == {10}
    # five answerable items (the follow-up searched with the pipeline's query, the error item with its
    # question) and two checks, in three modes
    assert len(data["retrieval_items"]) == (5 + 2) * 3
    dense = data["retrieval"]["dense"]["qa"]["overall"]
    bm25 = data["retrieval"]["bm25"]["qa"]["overall"]
    assert dense["hit@1"] == pytest.approx(4 / 5) and dense["mrr"] == pytest.approx((4 + 1 / 3) / 5)
    assert bm25["hit@1"] == pytest.approx(1 / 5)  # ranks 1, 2, 3, 3, 2
    assert bm25["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 3 + 1 / 2) / 5)
    assert bm25["hit@5"] == 1.0
    checks = data["retrieval"]["hybrid"]["check"]["overall"]
    assert checks["n"] == 2 and checks["mrr"] == pytest.approx((1 + 1 / 3) / 2)


def test_report_files(config, tmp_path):
    run = run_eval(FakePipeline(config), ITEMS, retrieval_checks=CHECKS, progress=False)
    files = write_report(run, tmp_path / "reports")
    assert files.markdown.exists() and files.json.exists() and files.chart is not None
    assert files.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.markdown.stem == files.json.stem and "_fake-scripted_fake_hybrid_k4" in files.json.stem
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["summary"]["dev"]["overall"]["accuracy"]["mean"] == 0.75
    md = files.markdown.read_text(encoding="utf-8")
    assert "held back for the final report only" in md
    assert f"]({files.chart.name})" in md
    failing, held = md.split("## Failing items (2)")[1].split("## Failing items, held-out split (2)")
    for section, item_id, why in ((failing, "en-num-001", "citation without evidence"),
                                  (failing, "id-person-001", "over-refused"),
                                  (held, "id-unans-001", "answered (should refuse)"),
                                  (held, "id-num-002", "error")):
        assert f"**{item_id}** " in section and why in section
    assert "**id-num-001**" not in md
    assert "expected: reference for en-num-001" in failing
    assert "| hybrid | QA items | 5 | 80.0% | 100.0% | 100.0% | 0.867 |" in md
    table = results_table_markdown(data)
    assert table.splitlines()[0].startswith("|  | items | accuracy")
    assert "| Indonesian | 2 | 50.0% (1/2)" in table
    summary = terminal_summary(data)
    assert "overall" in summary and "heldout: accuracy 0.0%" in summary
    again = write_report(data, tmp_path / "reports", chart=False)  # same minute: a new name, no overwrite
    assert again.json != files.json and again.chart is None


def test_markdown_says_when_heldout_was_not_run(config):
    dev_only = [i for i in ITEMS if i.split == "dev"]
    md = render_markdown(report_data(run_eval(FakePipeline(config), dev_only, progress=False, modes=())))
    assert "Not run (use `--split heldout`" in md and "No retrieval was measured." in md


def test_cache_skips_the_model_on_a_second_run(config, tmp_path):
    path = tmp_path / "cache.jsonl"
    fingerprint = settings_fingerprint(config)
    first = run_eval(FakePipeline(config), ITEMS, cache=AnswerCache(path, fingerprint), progress=False)
    pipe = FakePipeline(config)
    cache = AnswerCache(path, fingerprint)
    second = run_eval(pipe, ITEMS, cache=cache, progress=False)
    assert cache.hits == len(ITEMS) - 1  # all but the failed item
    assert [q for q, _ in pipe.asked] == [ITEMS[6].user_input]  # only the failed item is asked again
    assert second.cached_items == len(ITEMS) - 1
    assert [replace(r, cached=False) for r in second.items] == list(first.items)
    # another fingerprint (a changed setting) misses; reuse=False records without serving
    other = FakePipeline(config)
    run_eval(other, ITEMS[:1], cache=AnswerCache(path, "other"), progress=False)
    assert len(other.asked) == 1
    fresh = FakePipeline(config)
    run_eval(fresh, ITEMS[:1], cache=AnswerCache(path, fingerprint, reuse=False), progress=False)
    assert len(fresh.asked) == 1


def test_warm_up_asks_once_before_the_first_uncached_item(config, tmp_path):
    cache = AnswerCache(tmp_path / "cache.jsonl", "fp")
    first = FakePipeline(config)
    run = run_eval(first, ITEMS[:2], cache=cache, progress=False, warm_up=True)
    assert [q for q, _ in first.asked] == [ITEMS[0].user_input, ITEMS[0].user_input, ITEMS[1].user_input]
    assert len(run.items) == 2  # the throwaway answer is not scored
    cached = FakePipeline(config)
    again = AnswerCache(tmp_path / "cache.jsonl", "fp")
    run_eval(cached, ITEMS[:2], cache=again, progress=False, warm_up=True)
    assert cached.asked == []  # nothing to answer, nothing to warm up


def test_fingerprint_follows_settings_and_corpus(config):
    base = settings_fingerprint(config)
    assert settings_fingerprint(config.with_(top_k=5)) != base
    assert settings_fingerprint(config.with_(threads=3)) == base  # does not change answers
    assert settings_fingerprint(config.with_(index_dir=Path("elsewhere"))) == base
    assert settings_fingerprint(config.with_(passage_budget_chars=1500)) != base
    (config.corpus_dir / "b.txt").write_text("Artikel baru.", encoding="utf-8")
    assert settings_fingerprint(config) != base


def test_every_config_field_is_in_the_fingerprint_unless_listed_as_harmless(config):
    """A field added to Config changes the fingerprint without anyone remembering to list it."""
    from chatbot.evaluation.cache import NOT_ANSWER_SETTINGS, answer_settings

    names = {f.name for f in dataclasses.fields(Config)}
    assert NOT_ANSWER_SETTINGS <= names  # no stale name in the short list
    assert set(answer_settings(config)) == names - NOT_ANSWER_SETTINGS
    assert "answer_language_guard" in answer_settings(config)  # the hand-written list had forgotten it
    base = settings_fingerprint(config)
    assert settings_fingerprint(config.with_(answer_language_guard=False)) != base
    assert settings_fingerprint(config.with_(llama_repack="off")) != base


def test_a_comment_in_a_prompt_file_keeps_the_fingerprint(tmp_path):
    from chatbot.evaluation.cache import _digest_files

    prompt = tmp_path / "en.toml"
    prompt.write_text('system = "Answer briefly."\n', encoding="utf-8")
    before = _digest_files([prompt], toml=True)
    prompt.write_text('# a note for maintainers\nsystem = "Answer briefly."\n', encoding="utf-8")
    assert _digest_files([prompt], toml=True) == before
    prompt.write_text('system = "Answer at length."\n', encoding="utf-8")
    assert _digest_files([prompt], toml=True) != before


def test_compare_lists_fixed_and_broken_items(config, tmp_path):
    old = write_report(run_eval(FakePipeline(config), ITEMS, progress=False), tmp_path / "r", chart=False)
    script = dict(SCRIPT)
    script[ITEMS[1].user_input] = ("More than 2,500 delegates attended the ceremony [1].", [1], False)
    script[ITEMS[0].user_input] = ("Konvensi ditandatangani oleh 140 negara [1].", [0], False)  # broken
    new_run = run_eval(FakePipeline(config.with_(top_k=6), script), ITEMS, progress=False)
    new = write_report(new_run, tmp_path / "r", chart=False)
    text = compare_reports(old.json, new.json)
    assert "top_k: 4 -> 6" in text
    fixed = text.split("## Fixed (1)")[1].split("## Broken")[0]
    broken = text.split("## Broken (1)")[1]
    assert "en-num-001" in fixed and "id-num-001" in broken and "140 negara" in broken
    dev_table = text.split("## dev")[1].split("## heldout")[0]
    rows = {ln.split(" | ")[0].strip("| "): ln for ln in dev_table.splitlines() if ln.startswith("| ")}
    assert rows["accuracy"].startswith("| accuracy | 75.0% -> 50.0% -25.0 pp |")  # 3/4 -> 2/4
    assert rows["evidence_ok"].startswith("| evidence_ok | 66.7% -> 100.0% +33.3 pp |")  # 2/3 -> 2/2


# --------------------------------------------------------------------------- the command


def parse(argv):
    parser = argparse.ArgumentParser()
    add_eval_arguments(parser)
    return parser.parse_args(argv)


def write_dataset(tmp_path: Path) -> Path:
    rows = []
    for i in ITEMS:
        row = {"id": i.id, "language": i.language, "type": i.type, "user_input": i.user_input,
               "reference": i.reference, "keywords": [list(g) for g in i.keywords],
               "reference_contexts": list(i.reference_contexts), "article_ids": list(i.article_ids),
               "answerable": i.answerable, "split": i.split}
        if i.turns:
            row["turns"] = list(i.turns)
        rows.append(json.dumps(row))
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_command_runs_writes_and_caches(config, tmp_path, capsys):
    dataset, out = write_dataset(tmp_path), tmp_path / "reports"
    checks = tmp_path / "retrieval.jsonl"
    check = {"id": "ret-id-001", "language": "id", "query": "72 negara", "article_id": "art_a",
             "evidence": "oleh 72 negara", "type": "number"}
    checks.write_text(json.dumps(check) + "\n", encoding="utf-8")
    made = []

    def make():
        made.append(FakePipeline(config))
        return made[-1]

    argv = ["--dataset", str(dataset), "--retrieval-checks", str(checks), "--out", str(out), "--split", "all",
            "--no-chart"]
    assert run_eval_command(parse(argv), make, config) == 1  # one item failed with an error
    captured = capsys.readouterr()
    assert "overall" in captured.out and "report:" in captured.out and "1 item(s) failed" in captured.err
    assert len(list(out.glob("*.md"))) == 1 and not list(out.glob("*.png"))
    assert (out / "answer_cache.jsonl").exists()
    assert run_eval_command(parse(argv + ["--cached", "--language", "en"]), make, config) == 0
    assert made[1].asked == []  # every English item came from the cache
    reports = sorted(out.glob("*.json"))
    assert len(reports) == 2 and any(p.stem.endswith("_en") for p in reports)
    assert run_eval_command(parse(["--compare", str(reports[0]), str(reports[1])]), make, config) == 0
    assert "## Fixed" in capsys.readouterr().out and len(made) == 2  # --compare built no pipeline


def test_command_reports_bad_input_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "qa.jsonl"
    bad.write_text('{"id": "x"\n', encoding="utf-8")
    assert run_eval_command(parse(["--dataset", str(bad)]), lambda: pytest.fail("no pipeline"), None) == 2
    assert f"error: {bad} line 1 is not valid JSON" in capsys.readouterr().err
    assert run_eval_command(parse(["--compare", str(bad), str(bad)]), lambda: None) == 2
    assert "Cannot read the report" in capsys.readouterr().err
    assert run_eval_command(parse(["--dataset", str(tmp_path / "none.jsonl")]), lambda: None) == 2


def test_command_stops_when_every_item_fails(config, tmp_path, capsys):
    script = {q: ModelError("The model file is missing; run pip install x.") for q in [*SCRIPT]}
    argv = ["--dataset", str(write_dataset(tmp_path)), "--out", str(tmp_path / "r"), "--split", "all"]
    assert run_eval_command(parse(argv), lambda: FakePipeline(config, script)) == 2
    assert "Every item failed" in capsys.readouterr().err
    assert not list((tmp_path / "r").glob("*.md"))


# --------------------------------------------------------------------------- the real pipeline, fake models


@pytest.mark.skipif(not (REPO / "eval" / "qa.jsonl").exists(), reason="no eval/qa.jsonl")
def test_real_pipeline_with_fake_models_on_real_items(real_corpus_fake_models, tmp_path):
    from chatbot.evaluation import metrics
    from chatbot.pipeline import Pipeline

    items = {i.id: i for i in load_items(REPO / "eval" / "qa.jsonl")}
    chosen = [items[i] for i in ("id-num-001", "en-num-001", "id-follow-001", "en-unans-001")]
    quote, article_id = items["id-num-001"].reference_contexts[0], items["id-num-001"].article_ids[0]
    own_quote = RetrievalCheck("own-quote", "id", quote, article_id, quote, "keyword")
    pipe = Pipeline.from_config(real_corpus_fake_models)
    run = run_eval(pipe, chosen, retrieval_checks=[own_quote], progress=False)

    assert [r.error for r in run.items] == [None] * 4
    r = by_id(run)
    assert len(r["id-follow-001"].earlier_answers) == 1 and r["id-follow-001"].search_query
    articles = {a: pipe.article(a).text for a in {x for i in chosen for x in i.article_ids}}
    checked = 0
    for record, item in zip(run.items, chosen, strict=True):
        if not item.answerable or record.refused:
            continue
        # the fake generator answers with passage [1] and cites it: the citation precision must say
        # whether that passage holds the gold quote, by the same rule as the retrieval metrics
        answer = pipe.ask(item.questions[0]) if not item.turns else None
        if answer is not None:
            assert [c.n for c in answer.citations] == [1]
            holds = metrics.holds_any(answer.citations[0].chunk, item.reference_contexts, articles,
                                      item.article_ids)
            assert record.citation_precision == float(holds)
            checked += 1
    assert checked == 2  # both single-question answerable items were answered and checked
    bm25 = [x for x in run.retrieval if x.id == "own-quote" and x.mode == "bm25"]
    assert len(bm25) == 1 and bm25[0].first_rank == 1  # searching with the quote itself finds it first
    assert len(run.retrieval) == (3 + 1) * 3  # three answerable items and one check, three modes
    files = write_report(run, tmp_path / "reports", chart=False)
    data = json.loads(files.json.read_text(encoding="utf-8"))
    assert data["info"]["n_articles"] == 5 and data["summary"]["dev"]["overall"]["n"] == 4


def test_record_keeps_the_window_note():
    from chatbot.evaluation.harness import score_item

    item = qa("id-num-009", "Berapa negara?", keywords=[["72"]])
    answer = Answer(question="Berapa negara?", language="id", text="72 negara.", refused=False,
                    answer_context="window", window="window a1 passages [1]-[3]; answerable p=0.81")
    record = score_item(item, [answer])
    assert record.window == answer.window and record.correct
