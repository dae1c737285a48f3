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
