"""The shared text rules (chatbot/text.py), the modules agreeing on them, and no module keeping a copy."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chatbot.answer.citations import parse_citations
from chatbot.answer.language import detect_language
from chatbot.evaluation.metrics import normalize
from chatbot.search.bm25 import tokenize
from chatbot.text import (
    CHUNK_SENTENCE_END,
    CITATION,
    FUNCTION_WORDS,
    LANGUAGE_CUES,
    TOPICLESS_WORDS,
    append_citation,
    citation_numbers,
    first_sentence,
    fold,
    normalize_number,
    normalize_numbers,
    says_something,
    sentence_pieces,
    split_sentences,
    strip_citations,
)
from chatbot.web.render import link_citations, render_pending

PACKAGE = Path(__file__).resolve().parents[1] / "chatbot"

# Every marker form the parser reads, each citing passages 1 and 2.
FORMS = ["[1][2]", "[1, 2]", "[1,2]", "[1; 2]", "[1-2]", "[1 – 2]", "[1 dan 2]", "[1 and 2]", "【1】【2】",
         "[ 1 , 2 ]", "[1] [2]"]


# --------------------------------------------------------------------------- citations


@pytest.mark.parametrize(("inside", "numbers"), [
    ("1", [1]), ("1, 3", [1, 3]), ("2; 9", [2, 9]), ("1-3", [1, 2, 3]), ("1 – 2", [1, 2]),
    ("1 dan 2", [1, 2]), ("3-1", [3, 1]), ("1-40", [1, 40]),
])
def test_citation_numbers_of_a_group(inside, numbers):
    assert citation_numbers(inside) == numbers


@pytest.mark.parametrize("form", FORMS)
def test_every_form_is_one_rule_for_parser_stripper_and_metrics(form):
    text = f"Ada 72 negara {form}."
    assert parse_citations(text, 4).numbers == (1, 2)
    assert strip_citations(text) == "Ada 72 negara."
    assert normalize(text) == "ada 72 negara"


def test_text_that_only_looks_like_a_citation_is_left_alone():
    for text in ("Resolusi 74/247 [sic].", "[a]", "[1.5]", "[]"):
        assert not CITATION.search(text), text
        assert strip_citations(text) == text.strip()


def test_append_citation_goes_before_final_punctuation_and_keeps_trailing_space():
    assert append_citation("72 countries signed.", 2) == "72 countries signed [2]."
    assert append_citation("72 countries", 1) == "72 countries [1]"
    assert append_citation("Ya!  \n", 3) == "Ya [3]!  \n"


@pytest.mark.parametrize("form", FORMS)
def test_the_renderer_links_every_form_the_parser_reads_also_while_streaming(form):
    text = f"Ada 72 negara {form}."
    for html in (link_citations(text, 1, {1, 2}), render_pending(text, 1, 4)):
        assert re.findall(r'<a href="#src-1-(\d)" class="cite" data-n="\1">\[\1\]</a>', html) == ["1", "2"]
    for end in range(len(text) + 1):  # each prefix, as the stream shows it: no broken markup, no wrong link
        links = re.findall(r'data-n="(\d+)"', render_pending(text[:end], 1, 4))
        assert links in ([], ["1"], ["1", "2"]), text[:end]


def test_the_renderer_leaves_a_group_of_unknown_passages_as_written():
    assert link_citations("Ada [7-8].", 1, {1, 2}) == "Ada [7-8]."
    assert link_citations("Ada [1, 7].", 1, {1}).endswith('data-n="1">[1]</a>[7].')


# --------------------------------------------------------------------------- sentences


def test_split_sentences_keeps_numbers_quotes_and_paragraphs():
    text = ('Sebanyak 2.500 delegasi hadir. "Ini penting," katanya. Guterres berpidato!\n\n'
            'paragraf baru tanpa huruf besar')
    assert split_sentences(text) == [
        "Sebanyak 2.500 delegasi hadir.",
        '"Ini penting," katanya.',
        "Guterres berpidato!",
        "paragraf baru tanpa huruf besar",
    ]


def test_split_sentences_keeps_a_closing_quote_with_its_sentence():
    assert split_sentences('Dia berkata "selesai." Lalu pergi.') == ['Dia berkata "selesai."', "Lalu pergi."]


def test_initials_do_not_end_a_sentence():
    text = "Menteri Mmamiloko T. Kubayi hadir. Delegasi U.S. juga. Lalu selesai… Ya."
    assert split_sentences(text) == ["Menteri Mmamiloko T. Kubayi hadir.", "Delegasi U.S. juga.",
                                     "Lalu selesai…", "Ya."]
    assert first_sentence("Mmamiloko T. Kubayi berbicara. Lalu pergi.") == "Mmamiloko T. Kubayi berbicara."


def test_first_sentence():
    assert first_sentence('Ia berkata: "Ya." Lalu pergi.') == 'Ia berkata: "Ya."'
    assert first_sentence("Tanpa titik") == "Tanpa titik"
    assert first_sentence("") == ""


def test_blank_text_has_no_sentences():
    assert split_sentences("  \n\n ") == []


@pytest.mark.parametrize("text", [
    "A [1]. B [2]\n\nC.", "  Lead space. Tail space.  ", 'Kata "ya." [1] Lalu?! Dan…', "1. Satu\n2. Dua",
    "Mmamiloko T. Kubayi [1]. Ya", "", "\n\n", "Tanpa titik [3]",
])
def test_pieces_join_back_to_the_text(text):
    for answer in (False, True):
        assert "".join(sentence_pieces(text, answer=answer)) == text


def test_an_answer_keeps_its_citations_with_the_sentence_they_close():
    assert sentence_pieces("Gutsan [3]. Ada 119 negara. [2] [1] Lalu ya", answer=True) == [
        "Gutsan [3].", " Ada 119 negara. [2] [1]", " Lalu ya"]


def test_an_answer_is_cut_as_grounding_always_cut_it():
    """Not after a closing quote nor at a blank line (see ``sentence_pieces``), but never at an initial."""
    text = 'Ia berkata "pantas." Lalu:\n\n1. Satu [1]. Mmamiloko T. Kubayi [2].'
    assert sentence_pieces(text, answer=True) == [
        'Ia berkata "pantas." Lalu:\n\n1.', " Satu [1].", " Mmamiloko T. Kubayi [2]."]
    assert sentence_pieces(text) == ['Ia berkata "pantas."', " Lalu:", "\n\n1.", " Satu [1].",
                                     " Mmamiloko T. Kubayi [2]."]


def test_the_chunker_rule_also_cuts_at_semicolons_but_not_at_initials():
    text = "Satu; dua. Mmamiloko T. Kubayi hadir."
    assert re.split(CHUNK_SENTENCE_END, text) == ["Satu;", "dua.", "Mmamiloko T. Kubayi hadir."]


def test_a_long_sentence_is_cut_in_linear_time():
    import time

    text = "kata " * 20_000 + "ya. [1 " * 5_000
    t0 = time.perf_counter()
    assert len(sentence_pieces(text)) == len(sentence_pieces(text, answer=True)) == 5_001  # and the rest
    assert time.perf_counter() - t0 < 1.0


# --------------------------------------------------------------------------- accents


@pytest.mark.parametrize(("raw", "folded"), [
    ("Đặng", "dang"), ("António", "antonio"), ("Lương Cường", "luong cuong"), ("Øresund", "oresund"),
    ("Straße", "strasse"), ("ﬁnal", "final"), ("Łódź", "lodz"),
])
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_search_and_metrics_fold_the_same_way():
    for name in ("Đặng Hoàng Giang", "Phạm Minh Chính", "António Guterres"):
        assert " ".join(tokenize(name)) == normalize(name)


# --------------------------------------------------------------------------- function words


def test_function_words_are_per_language_and_disjoint():
    assert "berapa" in FUNCTION_WORDS["id"] and "how" in FUNCTION_WORDS["en"]
    assert not FUNCTION_WORDS["id"] & FUNCTION_WORDS["en"]
    assert not LANGUAGE_CUES["id"] & LANGUAGE_CUES["en"]
    assert not TOPICLESS_WORDS & (FUNCTION_WORDS["id"] | FUNCTION_WORDS["en"])


def test_the_language_cues_detect_the_eval_questions():
    assert detect_language("Berapa negara yang menandatangani Konvensi Hanoi?") == "id"
    assert detect_language("How many countries signed the Convention?") == "en"
    assert detect_language("72 negara [1]", default="en") == "id"  # a topic word decides a bare answer


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("raw", "canonical"), [
    ("2.500", "2500"), ("2,500", "2500"), ("1.000.000", "1000000"), ("2,5", "2.5"), ("2.5", "2.5"),
    ("72", "72"), ("1.000,5", "1.000,5"), ("1,2,3", "1,2,3"),
])
def test_normalize_number(raw, canonical):
    assert normalize_number(raw) == canonical


def test_numbers_are_the_same_for_search_metrics_and_running_text():
    assert normalize_numbers("dari 2.500 delegasi, 2,5 persen.") == "dari 2500 delegasi, 2.5 persen."
    for written in ("2.500", "2,500", "2500"):
        assert tokenize(f"{written} delegasi") == ["2500", "delegasi"]
        assert normalize(f"{written} delegasi") == "2500 delegasi"


# --------------------------------------------------------------------------- one home


# Fragments that only a copy of a rule would contain, per rule.
TELLTALES = {
    "citation pattern": (r"\[\d", r"\[(\d", r"[\[【]"),
    "sentence splitter": (r"(?<=[.!?", r"(?<!\b[A-Z]", r"[.!?](?", r"[^.!?\n]+[.!?]"),
    "accent table": ("unicodedata.combining", '"đ"', "'đ'"),
    "number rule": (r"\d{1,3}(?:",),
}
# Function words that mark a list of them (a collection of 4 or more of these is a function-word list).
FUNCTION_TELLTALES = frozenset(["yang", "dari", "untuk", "pada", "oleh", "the", "of", "to", "is", "are"])


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "text.py")


def _word_lists(tree: ast.AST):
    """The words of each literal collection of strings and of each string literal that is ``.split()``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Set | ast.Tuple) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield node.lineno, [w for e in node.elts for w in str(getattr(e, "value", "")).split()]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "split" and isinstance(node.func.value, ast.Constant)
              and isinstance(node.func.value.value, str)):
            yield node.lineno, node.func.value.value.split()


def test_no_module_but_text_defines_a_text_rule():
    found = []
    for path in _modules():
        source = path.read_text("utf-8")
        for number, line in enumerate(source.splitlines(), start=1):
            found += [f"{path.relative_to(PACKAGE)}:{number}: {rule}" for rule, marks in TELLTALES.items()
                      if any(mark in line for mark in marks)]
        for number, words in _word_lists(ast.parse(source)):
            if len(FUNCTION_TELLTALES.intersection(words)) >= 4:
                found.append(f"{path.relative_to(PACKAGE)}:{number}: function-word list")
    assert not found, "define these in chatbot/text.py and import them:\n" + "\n".join(found)


def test_the_scan_would_see_a_copy():
    copies = {
        "citation": 'X = re.compile(r"\\[(\\d+)\\]")',
        "sentence": 'Y = re.compile(r"(?<=[.!?])\\s+")',
        "accents": 'Z = "".join(c for c in s if not unicodedata.combining(c))',
    }
    for source in copies.values():
        assert any(mark in source for marks in TELLTALES.values() for mark in marks), source
    words = list(_word_lists(ast.parse('W = frozenset("yang dari untuk pada the of".split())')))
    assert len(FUNCTION_TELLTALES.intersection(words[0][1])) >= 4


@pytest.mark.parametrize(("text", "says"), [("[3]", False), (" [1, 2]. ", False), ("…", False), ("", False),
                                             ("72 [1].", True), ("Ya [2].", True)])
def test_says_something_needs_a_letter_or_digit_beyond_the_citations(text, says):
    assert says_something(text) is says


def test_a_passage_named_without_brackets_becomes_a_marker():
    from chatbot.text import bracket_passage_references

    assert bracket_passage_references("This is stated in passage 28.") == "This is stated in passage [28]."
    assert bracket_passage_references("See passage number 16.") == "See passage number [16]."
    assert (bracket_passage_references("Lihat paragraf 3 dan passage [4].")
            == "Lihat paragraf [3] dan passage [4].")
    assert bracket_passage_references("Signed by 72 countries [2].") == "Signed by 72 countries [2]."
