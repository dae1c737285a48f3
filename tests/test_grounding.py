"""Citations checked against the passages by shared names and numbers."""

from __future__ import annotations

from chatbot.answer.grounding import ground_citations, support, terms

PASSAGES = [
    "Artur Liukmanov berbicara kepada wartawan tentang tujuan Konvensi.",
    "Upacara itu dihadiri lebih dari 2.500 delegasi dari 119 negara dan wilayah.",
    "Delegasi Rusia dipimpin oleh Jaksa Agung Federasi Rusia, Alexander Gutsan.",
]


def test_numbers_match_across_languages_and_formats():
    assert {"2500", "delegates"} <= terms("More than 2,500 delegates [1].")
    assert support(terms("2,500 delegates"), terms(PASSAGES[1])) > support(terms("2,500 delegates"),
                                                                          terms(PASSAGES[0]))


def test_a_wrong_citation_moves_to_the_passage_holding_the_number():
    g = ground_citations("More than 2,500 delegates attended [1].", PASSAGES)
    assert g.text == "More than 2,500 delegates attended [2]." and g.numbers == (2,) and g.changed


def test_a_right_citation_is_kept():
    g = ground_citations("Alexander Gutsan led the delegation [3].", PASSAGES)
    assert g.text == "Alexander Gutsan led the delegation [3]." and not g.changed


def test_uncited_sentences_get_the_supporting_passage_and_each_sentence_is_checked():
    g = ground_citations("Alexander Gutsan led it [3]. It had 119 countries.", PASSAGES)
    assert g.text == "Alexander Gutsan led it [3]. It had 119 countries [2]." and g.numbers == (3, 2)
    assert ground_citations("150", ["ada 150 organisasi", "lain"]).text == "150 [1]"


def test_unsupported_text_is_left_alone():
    for text in ("Vietnam is a lovely country [1].", "It was sunny."):
        g = ground_citations(text, PASSAGES)
        assert g.text == text and not g.changed


def test_a_margin_above_one_never_moves_a_citation():
    assert ground_citations("2,500 delegates [1].", PASSAGES, margin=1.01).numbers == (1,)


def test_numbers_no_passage_holds_are_reported():
    from chatbot.answer.grounding import unsupported_numbers

    passages = ["Upacara dihadiri 2.500 delegasi dari 119 negara pada 25-26 Oktober 2025, "
                "peringatan 47 tahun."]
    assert unsupported_numbers("It contains 4 articles [1].", passages) == {"4"}
    assert unsupported_numbers("It happened in 2021.", passages) == {"2021"}
    for fine in ("2,500 delegates [1].", "1. Satu\n2. Dua", "the 47th anniversary", "25-26 October 2025 [1]"):
        assert unsupported_numbers(fine, passages) == set(), fine
    assert unsupported_numbers("Article 12 says so.", passages, question="What does article 12 say?") == set()


def test_a_passage_named_by_its_number_and_a_spaced_thousands_separator_are_no_invented_numbers():
    from chatbot.answer.grounding import unsupported_numbers

    passages = ["Upacara dihadiri lebih dari 2.500 delegasi dari 119 negara."]
    for fine in ("This is stated in passage 28.", "See passage number 16 and paragraph 3.",
                 "More than 2, 500 delegates came from 119 countries."):
        assert unsupported_numbers(fine, passages) == set(), fine
    assert unsupported_numbers("Passage 28 says 600 delegates came.", passages) == {"600"}
    assert unsupported_numbers("There were 72, 500 delegates.", passages) == {"72", "500"}  # 72,500: not held
