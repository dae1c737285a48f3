import pytest

from chatbot.answer.language import detect_language


@pytest.mark.parametrize("text,lang", [
    ("Berapa negara yang menandatangani Konvensi Hanoi?", "id"),
    ("Siapa ketua komite negosiasi?", "id"),
    ("Apa yang dia sampaikan?", "id"),
    ("How many countries signed the Hanoi Convention?", "en"),
    ("Who led the Russian delegation?", "en"),
    ("What did he say?", "en"),
    ("Vietnam menjadi tuan rumah upacara penandatanganan [1].", "id"),
    ("Vietnam hosted the signing ceremony in Hanoi [1].", "en"),
])
def test_detects_indonesian_and_english(text, lang):
    assert detect_language(text) == lang


def test_tie_goes_to_default():
    assert detect_language("Guterres?") == "id"
    assert detect_language("Guterres?", default="en") == "en"
