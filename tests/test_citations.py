from chatbot.answer.citations import citations_for, parse_citations
from chatbot.types import Chunk, Hit


def _hits(n):
    return [Hit(Chunk(f"c{i}", "a", "T", "u", "p", f"text {i}", 0, 6), 0.9, i) for i in range(1, n + 1)]


def test_valid_citations_kept_in_order_of_appearance():
    p = parse_citations("Vietnam hosted it [2]. 72 countries signed [1].", 3)
    assert p.numbers == (2, 1)
    assert p.text == "Vietnam hosted it [2]. 72 countries signed [1]."
    assert p.dropped == ()


def test_zero_and_out_of_range_are_dropped_not_remapped():
    p = parse_citations("A [0]. B [4]. C [2].", 3)
    assert p.numbers == (2,)
    assert p.dropped == (0, 4)
    assert "[0]" not in p.text and "[4]" not in p.text
    assert p.text == "A. B. C [2]."


def test_group_forms_are_split():
    assert parse_citations("X [1, 3].", 3).numbers == (1, 3)
    assert parse_citations("X [1][2].", 3).numbers == (1, 2)
    assert parse_citations("X [1-3].", 3).numbers == (1, 2, 3)
    assert parse_citations("X [2; 9].", 3).numbers == (2,)
    assert parse_citations("X [1, 3].", 3).text == "X [1][3]."


def test_no_citation_and_non_numeric_brackets():
    p = parse_citations("Resolution 74/247 [sic] was adopted.", 3)
    assert p.numbers == ()
    assert p.text == "Resolution 74/247 [sic] was adopted."


def test_repeated_citation_listed_once():
    assert parse_citations("A [1]. B [1].", 2).numbers == (1,)


def test_citations_for_maps_numbers_to_passages_in_prompt_order():
    hits = _hits(3)
    cites = citations_for((3, 1), hits)
    assert [(c.n, c.chunk.chunk_id) for c in cites] == [(3, "c3"), (1, "c1")]
    assert citations_for((5,), hits) == ()


def test_inputs_not_mutated():
    hits = _hits(2)
    before = list(hits)
    citations_for((1,), hits)
    assert hits == before

