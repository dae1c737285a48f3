"""An answer in the passages' language to a question in the other one is rewritten once."""

from __future__ import annotations

from chatbot.embedders.fake import HashEmbedder
from chatbot.generation.fake import PrefixStateFake, ScriptedGenerator
from chatbot.pipeline import Pipeline

QUESTION = "Who led the Russian delegation?"
INDONESIAN = "Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan dan timnya [1]."
ENGLISH = "The Russian delegation was led by Prosecutor General Alexander Gutsan [1]."


def test_an_answer_in_the_wrong_language_is_rewritten_keeping_its_citation(fake_config):
    generator = ScriptedGenerator([INDONESIAN, ENGLISH])
    answer = Pipeline(fake_config, generator=generator).ask(QUESTION)
    assert answer.text.startswith("The Russian delegation was led by") and not answer.refused
    assert [c.n for c in answer.citations] == [1]
    rewrite_prompt = generator.calls[1][-1].content
    assert "Rewrite this answer in English" in rewrite_prompt and INDONESIAN in rewrite_prompt


def test_an_answer_in_the_right_language_costs_no_second_generation(fake_config):
    generator = ScriptedGenerator([ENGLISH])
    answer = Pipeline(fake_config, generator=generator).ask(QUESTION)
    assert answer.text == ENGLISH and len(generator.calls) == 1


def test_a_rewrite_still_in_the_wrong_language_keeps_the_first_answer(fake_config):
    generator = ScriptedGenerator([INDONESIAN, INDONESIAN.replace("timnya", "rekan-rekannya")])
    answer = Pipeline(fake_config, generator=generator).ask(QUESTION)
    assert answer.text == INDONESIAN and len(generator.calls) == 2


def test_the_guard_can_be_turned_off(fake_config):
    generator = ScriptedGenerator([INDONESIAN])
    answer = Pipeline(fake_config.with_(answer_language_guard=False), generator=generator).ask(QUESTION)
    assert answer.text == INDONESIAN and len(generator.calls) == 1


def test_indonesian_questions_are_guarded_too(fake_config):
    generator = ScriptedGenerator([ENGLISH, INDONESIAN])
    answer = Pipeline(fake_config, generator=generator).ask("Siapa yang memimpin delegasi Rusia?")
    assert answer.text == INDONESIAN and "Rewrite this answer in Indonesian" in generator.calls[1][-1].content


class _WindowFake(PrefixStateFake):
    """Answers from the window in Indonesian; a plain chat call (the rewrite) gets ``rewrite``."""

    def __init__(self, rewrite: str) -> None:
        super().__init__(lambda prefix, suffix: INDONESIAN)
        self.rewrite = rewrite

    def stream(self, messages, *, max_tokens):
        self.calls.append(tuple(messages))
        return iter([self.rewrite])


def test_window_mode_answers_are_guarded_too(fake_config):
    generator = _WindowFake(ENGLISH)
    pipe = Pipeline(fake_config.with_(answer_context="window"), embedder=HashEmbedder(), generator=generator)
    answer = pipe.ask(QUESTION)
    assert answer.answer_context == "window" and not answer.refused
    assert answer.text.startswith("The Russian delegation was led by")
    assert "Rewrite this answer in English" in generator.calls[-1][-1].content


def test_window_mode_guard_off_keeps_the_window_answer(fake_config):
    generator = _WindowFake(ENGLISH)
    config = fake_config.with_(answer_context="window", answer_language_guard=False)
    answer = Pipeline(config, embedder=HashEmbedder(), generator=generator).ask(QUESTION)
    assert answer.text.startswith("Delegasi Rusia dipimpin") and len(generator.calls) == 1


# --- an answer in the question's language that keeps the articles' words (answer/language.py ArticleWords) --

ROUNDTABLE = "What did Russia hold?"
MIXED = "Russia held a \"diskusi meja bundar tentang peningkatan kapasitas\" with the delegations [1]."
TRANSLATED = "Russia held a \"roundtable discussion on capacity building\" with the delegations [1]."


def test_article_words_are_lower_case_words_of_the_articles_that_the_question_does_not_use():
    from chatbot.answer.language import ArticleWords

    words = ArticleWords(["Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan. Rusia mengadakan "
                          "diskusi meja bundar tentang peningkatan kapasitas."])
    found = words.in_answer("Led by Jaksa Agung Gutsan, a diskusi meja [3] on kapasitas.", "What is a meja?")
    assert found == {"diskusi", "kapasitas"}  # names and title words only written capitalised are not
    assert words.in_answer("The [2] delegation.", "Who?") == frozenset()


def test_a_mixed_answer_is_rewritten_in_the_question_language(fake_config):
    generator = ScriptedGenerator([MIXED, TRANSLATED])
    answer = Pipeline(fake_config, generator=generator).ask(ROUNDTABLE)
    assert answer.text.startswith("Russia held a \"roundtable discussion") and len(generator.calls) == 2
    assert MIXED in generator.calls[1][-1].content and [c.n for c in answer.citations] == [1]


def test_a_rewrite_that_keeps_as_many_article_words_is_dropped(fake_config):
    generator = ScriptedGenerator([MIXED, MIXED.replace("with the delegations", "with all delegations")])
    answer = Pipeline(fake_config, generator=generator).ask(ROUNDTABLE)
    assert answer.text.startswith(MIXED[:40]) and len(generator.calls) == 2


def test_a_few_shared_words_or_the_setting_at_zero_cost_no_rewrite(fake_config):
    two_words = "Russia held a diskusi on kapasitas with the delegations [1]."
    generator = ScriptedGenerator([two_words])
    assert Pipeline(fake_config, generator=generator).ask(ROUNDTABLE).text.startswith("Russia held a diskusi")
    assert len(generator.calls) == 1  # two article words: below the default of three
    generator = ScriptedGenerator([MIXED])
    Pipeline(fake_config.with_(mixed_language_words=0), generator=generator).ask(ROUNDTABLE)
    assert len(generator.calls) == 1


def test_an_answer_in_the_articles_language_is_never_mixed(fake_config):
    generator = ScriptedGenerator(["Rusia mengadakan diskusi meja bundar tentang peningkatan kapasitas [1]."])
    Pipeline(fake_config, generator=generator).ask("Apa yang diadakan Rusia?")
    assert len(generator.calls) == 1
