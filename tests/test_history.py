import pytest

from chatbot.answer.history import is_follow_up, previous_turn, search_query
from chatbot.types import Answer, Turn


@pytest.mark.parametrize("question", [
    "Apa yang dia sampaikan?", "What did she say?", "Apa perannya?", "Kapan itu terjadi?",
    "And South Africa?", "Why?", "Mengapa?", "What else did he say?",
])
def test_follow_ups_detected(question):
    assert is_follow_up(question)


@pytest.mark.parametrize("question", [
    "Siapa ketua komite negosiasi?", "Berapa negara yang menandatangani Konvensi Hanoi?",
    "Who led the Russian delegation?", "Kapan upacara penandatanganan diadakan?",
])
def test_standalone_questions_not_follow_ups(question):
    assert not is_follow_up(question)


def test_follow_up_query_carries_previous_question_and_answer_names():
    history = (Turn("Siapa ketua komite negosiasi?", "Faouzia Boumaiza Mebarki [1].",
                    "Siapa ketua komite negosiasi?"),)
    q = search_query("Apa yang dia sampaikan?", history)
    assert "Mebarki" in q and "ketua komite" in q and q.endswith("Apa yang dia sampaikan?")
    assert "[1]" not in q


def test_unrelated_question_not_polluted_by_history():
    history = (Turn("Siapa ketua komite negosiasi?", "Faouzia Boumaiza Mebarki [1].", "x"),)
    q = search_query("Berapa delegasi yang hadir di Hanoi?", history)
    assert q == "Berapa delegasi yang hadir di Hanoi?"
    assert previous_turn("Berapa delegasi yang hadir di Hanoi?", history) is None


def test_no_history_means_question_alone():
    assert search_query("  Apa yang dia sampaikan? ", ()) == "Apa yang dia sampaikan?"


def test_a_turn_is_made_from_the_question_and_its_answer():
    answer = Answer(question="Siapa?", language="id", text="Gutsan [1].", refused=False, search_query="q")
    assert Turn.from_answer("Siapa? ", answer) == Turn("Siapa? ", "Gutsan [1].", "q")
