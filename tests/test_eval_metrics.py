"""The eval scorers on hand-made cases: number formats and number words, token boundaries, partial keyword
matches, token F1, refusals, citations that point at the wrong passage, a quote split across two chunks,
retrieval arithmetic; and the data set loader's error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.errors import InputError
from chatbot.evaluation import metrics as m
from chatbot.evaluation.aggregate import metric, percentile
from chatbot.evaluation.dataset import EvalItem, filter_items, load_items, load_retrieval_checks
from chatbot.evaluation.harness import ItemResult
from chatbot.types import Answer, Chunk

REPO = Path(__file__).resolve().parents[1]


def chunk(article_id: str, text: str, start: int, end: int | None = None, cid: str = "") -> Chunk:
    return Chunk(cid or f"{article_id}:{start}", article_id, "t", "u", "p", text[start:end], start,
                 len(text) if end is None else end)


def item(answerable: bool = True, **kw) -> EvalItem:
    base = {"id": "x", "language": "id", "type": "number" if answerable else "unanswerable",
            "user_input": "q?", "reference": "r", "keywords": ((("72",),) if answerable else ()),
            "reference_contexts": (), "article_ids": (), "answerable": answerable, "split": "dev"}
    base.update(kw)
    return EvalItem(**base)


def answer(text: str = "jawaban", refused: bool = False) -> Answer:
    return Answer(question="q?", language="id", text=text, refused=refused)


# --------------------------------------------------------------------------- normalisation and keywords


@pytest.mark.parametrize("a, b", [
    ("2.500 delegasi", "2500 delegasi"),
    ("2,500 delegates", "2500 delegates"),
    ("tujuh puluh dua negara", "72 negara"),
    ("seventy-two countries", "72 countries"),
    ("seratus sepuluh", "110"),
    ("one hundred and ten", "110"),
    ("dua ribu lima ratus", "2500"),
    ("two thousand five hundred", "2500"),
    ("seratus sembilan belas", "119"),
    ("dua belas", "12"),
    ("2 ribu", "2000"),
    ("2,5 juta", "2.5 juta"),
    ("Lương Cường dan Đặng Hoàng Giang", "luong cuong dan dang hoang giang"),
    ("25-26 Oktober [1][2].", "25 26 oktober"),
    ("resolusi 74/247 [1, 2]", "resolusi 74/247"),
])
def test_normalize_makes_equivalent_forms_equal(a, b):
    assert m.normalize(a) == m.normalize(b)


def test_separate_numbers_are_not_added_together():
    assert m.normalize("dua tiga") == "2 3"
    assert m.normalize("25 dan 26") == "25 dan 26"


@pytest.mark.parametrize("answer_text, alternative, expected", [
    ("Sebanyak 2.500 delegasi hadir.", "2500", True),
    ("More than 2500 delegates.", "2.500", True),
    ("Ditandatangani oleh tujuh puluh dua negara.", "72", True),
    ("Signed by 72 countries.", "seventy-two", True),
    ("Signed by 72 countries.", "tujuh puluh dua", True),
    ("Sebanyak 140 negara hadir.", "40", False),
    ("Pada tahun 2040 konvensi berlaku.", "40", False),
    ("Ada 400 peserta.", "40", False),
    ("Sekitar 40.5 persen.", "40", False),
    ("Sebanyak 40 negara (40) hadir.", "40", True),
    ("The 47th anniversary.", "47", True),
    ("In 2024 it was adopted.", "4", False),
    ("Lương Cường spoke.", "Luong Cuong", True),
    ("He said it is vulnerable.", "vulnerab", True),
    ("He said it was made in Asia.", "AI", False),
    ("Kecerdasan buatan (AI) dibahas.", "AI", True),
])
def test_keyword_alternative_matching(answer_text, alternative, expected):
    assert m.keyword_in(answer_text, alternative) is expected


def test_keyword_groups_partial_and_full_match():
    groups = [["72", "seventy-two"], ["40", "forty"]]
    assert m.keyword_fraction("72 countries signed [1].", groups) == 0.5
    assert m.keyword_match("72 countries signed [1].", groups) == 0.0
    assert m.keyword_match("Seventy-two countries, forty of them at once [1][2].", groups) == 1.0
    assert m.keyword_fraction("140 countries", groups) == 0.0


def test_citation_markers_are_not_numbers():
    assert not m.keyword_in("Konvensi ditandatangani [1].", "1")
    assert m.keyword_in("Sebanyak 1 negara [2].", "1")


def test_token_f1_is_squad_style():
    assert m.token_f1("72 negara [1].", "72 negara") == 1.0
    assert m.token_f1("Hanoi", "Jakarta") == 0.0
    # pred {72, negara}, gold {konvensi, ditandatangani, oleh, 72, negara}: P = 1, R = 2/5
    assert m.token_f1("72 negara [1]", "Konvensi ditandatangani oleh 72 negara") == pytest.approx(0.8 / 1.4)
    # English articles are dropped; number words become digits
    assert m.token_f1("The seventy-two countries", "72 countries") == 1.0


# --------------------------------------------------------------------------- refusal and language


def test_refusal_correct_and_over_refusal():
    answerable, unanswerable = item(True), item(False)
    assert m.refusal_correct(unanswerable, answer(refused=True))
    assert not m.refusal_correct(unanswerable, answer("Biayanya 5 miliar."))
    assert m.refusal_correct(answerable, answer("72 negara."))
    assert not m.refusal_correct(answerable, answer(refused=True))
    assert m.over_refused(answerable, answer(refused=True))
    assert not m.over_refused(unanswerable, answer(refused=True))


def test_hedged_answers_are_recognised():
    assert m.hedged("The articles do not mention the cost of the ceremony.")
    assert m.hedged("Artikel tidak menyebutkan biaya upacara.")
    assert not m.hedged("Konvensi ditandatangani oleh 72 negara [1].")


def test_language_match():
    assert m.language_match("id", "Konvensi ditandatangani oleh 72 negara [1].") is True
    assert m.language_match("en", "Konvensi ditandatangani oleh 72 negara [1].") is False
    assert m.language_match("en", "The convention was signed by 72 countries [1].") is True
    assert m.language_match("en", "72 [1].") is None  # nothing to detect


# --------------------------------------------------------------------------- evidence and citations

ARTICLE = ("Konvensi Hanoi ditandatangani oleh 72 negara pada upacara penandatanganan di Hanoi. "
           "Lebih dari 2.500 delegasi dari 119 negara dan wilayah menghadiri upacara tersebut, "
           "termasuk 110 delegasi nasional resmi. Ketua komite negosiasi adalah Faouzia Boumaiza Mebarki.")
QUOTE_72 = "ditandatangani oleh 72 negara"
QUOTE_SPLIT = "Lebih dari 2.500 delegasi dari 119 negara dan wilayah menghadiri upacara tersebut"
CUT = ARTICLE.index("negara dan wilayah")  # a chunk boundary near the middle of QUOTE_SPLIT (43% / 57%)
C1 = chunk("a", ARTICLE, 0, CUT)
C2 = chunk("a", ARTICLE, CUT)
ARTICLES = {"a": ARTICLE}


def test_quote_inside_one_chunk_with_other_whitespace():
    messy = Chunk("c", "a", "t", "u", "p", "Konvensi Hanoi  ditandatangani\noleh 72   negara", 0, 47)
    assert m.holds_evidence(messy, QUOTE_72)


def test_quote_split_across_two_chunks_counts_for_each_half_and_together():
    assert QUOTE_SPLIT not in C1.text and QUOTE_SPLIT not in C2.text
    for articles in (ARTICLES, None):  # by offsets in the article, and by the cut pieces without it
        share1, _ = m.quote_coverage([C1], QUOTE_SPLIT, articles)
        share2, _ = m.quote_coverage([C2], QUOTE_SPLIT, articles)
        assert share1 + share2 == pytest.approx(1.0, abs=0.03)
        assert m.holds_evidence(C1, QUOTE_SPLIT, articles) and m.holds_evidence(C2, QUOTE_SPLIT, articles)
        assert m.quote_coverage([C1, C2], QUOTE_SPLIT, articles)[0] == pytest.approx(1.0, abs=0.03)
        assert m.citation_recall([C1, C2], [QUOTE_SPLIT], articles) == 1.0


def test_a_small_tail_of_a_quote_is_not_evidence():
    cut = ARTICLE.index("tersebut")  # only "tersebut" (8 of 80 characters) falls in the second chunk
    first, second = chunk("a", ARTICLE, 0, cut), chunk("a", ARTICLE, cut)
    assert m.holds_evidence(first, QUOTE_SPLIT, ARTICLES)
    assert not m.holds_evidence(second, QUOTE_SPLIT, ARTICLES)
    assert not m.holds_evidence(second, QUOTE_SPLIT)  # the same without offsets


def test_offsets_only_count_within_the_same_article():
    other = chunk("b", ARTICLE, CUT)  # same offsets, different article
    assert not m.holds_evidence(other, QUOTE_SPLIT, {"a": ARTICLE, "b": "Artikel lain sama sekali."})


def test_article_ids_restrict_which_passages_count():
    copy = chunk("b", ARTICLE, 0)
    assert m.holds_evidence(copy, QUOTE_72)
    assert not m.holds_evidence(copy, QUOTE_72, article_ids={"a"})


def test_citation_precision_recall_and_evidence_ok():
    right, wrong = chunk("a", ARTICLE, 0, 90), chunk("a", ARTICLE, ARTICLE.index("Ketua"))
    quotes = [QUOTE_72]
    assert m.citation_precision([right, wrong], quotes, ARTICLES) == 0.5
    assert m.citation_precision([wrong], quotes, ARTICLES) == 0.0
    assert m.citation_precision([], quotes, ARTICLES) is None
    assert m.citation_recall([wrong], quotes, ARTICLES) == 0.0
    assert m.citation_recall([right], [QUOTE_72, "Faouzia Boumaiza Mebarki"], ARTICLES) == 0.5
    assert m.evidence_ok(True, [right, wrong], quotes, ARTICLES)
    assert not m.evidence_ok(True, [wrong], quotes, ARTICLES)  # correct text, wrong passage cited
    assert not m.evidence_ok(False, [right], quotes, ARTICLES)  # right passage, wrong answer


# --------------------------------------------------------------------------- retrieval


def test_first_relevant_rank():
    assert m.first_relevant_rank([False, False, True]) == 3
    assert m.first_relevant_rank([False] * 10) is None


def test_recall_at_k_counts_quotes_not_passages():
    quote_b = "Faouzia Boumaiza Mebarki"
    filler = [chunk("z", "tidak relevan sama sekali", 0, cid=f"z{i}") for i in range(5)]
    ranked = [chunk("a", ARTICLE, 0, 90)] + filler + [chunk("a", ARTICLE, ARTICLE.index("Ketua"))]
    flags = m.relevance(ranked, [QUOTE_72, quote_b], ARTICLES)
    assert flags == [True, False, False, False, False, False, True]
    assert m.recall_at(ranked, [QUOTE_72, quote_b], 5, ARTICLES) == 0.5
    assert m.recall_at(ranked, [QUOTE_72, quote_b], 10, ARTICLES) == 1.0


def test_metric_mean_and_percentile():
    def record(n: int, answerable: bool, correct: bool | None) -> ItemResult:
        return ItemResult(id=f"q{n}", language="id", type="fact", split="dev", answerable=answerable,
                          question="?", turns=("?",), expected="", correct=correct)

    records = [record(1, True, True), record(2, True, False), record(3, True, None), record(4, True, True),
               record(5, False, True)]
    # booleans count as 0 or 1; a None score and an item the metric does not apply to are left out
    assert metric(records, "accuracy") == {"mean": pytest.approx(2 / 3), "n": 3}
    assert metric([], "accuracy") == {"mean": None, "n": 0}
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)  # numpy's linear interpolation
    assert percentile([], 50) is None


# --------------------------------------------------------------------------- the data set loader

GOOD = {"id": "id-num-001", "language": "id", "type": "number", "user_input": "Berapa negara?",
        "reference": "72", "keywords": [["72"]], "reference_contexts": ["oleh 72 negara"],
        "article_ids": ["a"], "answerable": True, "split": "dev"}


def write_lines(path: Path, rows: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_load_items_reads_a_good_file(tmp_path):
    follow = dict(GOOD, id="en-follow-001", language="en", type="follow_up", user_input="What did she say?",
                  turns=["Who chairs it?", "What did she say?"], split="heldout")
    items = load_items(write_lines(tmp_path / "qa.jsonl", [GOOD, "", follow]))
    assert [i.id for i in items] == ["id-num-001", "en-follow-001"]
    assert items[0].questions == ("Berapa negara?",)
    assert items[1].questions == ("Who chairs it?", "What did she say?")
    assert items[0].keywords == (("72",),)
    assert [i.id for i in filter_items(items, split="heldout")] == ["en-follow-001"]
    assert [i.id for i in filter_items(items, language="id")] == ["id-num-001"]
    with pytest.raises(InputError, match="split"):
        filter_items(items, split="test")


@pytest.mark.parametrize("bad_line, message", [
    ("{not json", r"line 2 is not valid JSON"),
    ({k: v for k, v in GOOD.items() if k != "reference"},
     r"line 2 \(id 'id-num-001'\): missing field 'reference'"),
    (dict(GOOD, language="fr"), r"line 2 .*'language' is 'fr'"),
    (dict(GOOD, keywords=[[]]), r"line 2 .*keywords"),
    (dict(GOOD, answerable="yes"), r"line 2 .*'answerable' should be bool"),
    (dict(GOOD, turns=["a?", "b?"]), r"line 2 .*last of 'turns'"),
    (dict(GOOD, id="id-num-000"), None),
])
def test_load_items_names_file_and_line(tmp_path, bad_line, message):
    path = write_lines(tmp_path / "qa.jsonl", [dict(GOOD, id="id-num-000"), bad_line])
    with pytest.raises(InputError) as err:
        load_items(path)
    assert str(path) in str(err.value)
    if message is None:
        assert "already used on line 1" in str(err.value)  # the duplicate id
    else:
        assert err.match(message)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_retrieval_checks(tmp_path / "nope.jsonl")


@pytest.mark.skipif(not (REPO / "eval" / "qa.jsonl").exists(), reason="no eval/qa.jsonl")
def test_every_reference_answer_passes_the_keyword_scorer():
    """A scorer that fails the reference answer itself is too strict (or a keyword is wrong)."""
    items = load_items(REPO / "eval" / "qa.jsonl")
    failing = [i.id for i in items if i.answerable and m.keyword_match(i.reference, i.keywords) != 1.0]
    assert not failing
