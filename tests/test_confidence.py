"""The answer's confidence (generation/confidence.py) and window mode's fallback to passage mode when the
window answer is a refusal or its confidence is low. The generator is ``PrefixStateFake``."""

from __future__ import annotations

import io

import pytest

from chatbot.cli import stream_answer
from chatbot.embedders.fake import HashEmbedder
from chatbot.generation.confidence import content_confidence, recorded_steps
from chatbot.generation.fake import PrefixStateFake
from chatbot.generation.llama_cpp_backend import GenerationStats
from chatbot.pipeline import Pipeline
from chatbot.types import Done, Restart, Token

CITED = "Konvensi ditandatangani di Hanoi [1]."


def window_pipe(config, gen, **changes):
    return Pipeline(config.with_(answer_context="window", **changes), embedder=HashEmbedder(),
                    generator=gen)


# --- the measure --------------------------------------------------------------------------------------------

def test_confidence_is_the_lowest_content_token_and_ignores_citations_and_punctuation():
    steps = [("Hanoi", 0.9), (" dan", 0.7), (" [", 0.2), ("3", 0.05), ("]", 0.3), (".", 0.1), ("", 0.01)]
    assert content_confidence(steps) == 0.7


def test_digits_outside_a_citation_count_as_content():
    assert content_confidence([("Ada", 0.9), (" 72", 0.15), (" negara", 0.8)]) == 0.15


def test_no_recorded_content_gives_no_confidence():
    assert content_confidence([]) is None
    assert content_confidence([(".", 0.2), ("[", 0.5), ("1", 0.1), ("]", 0.5)]) is None


def test_recorded_steps_read_the_stats_in_process_and_from_the_child():
    in_process = GenerationStats(10, 0, 2, 0.1, 0.2, (("Ya", 0.5), (".", 0.9)))
    from_child = {"prompt_tokens": 10, "top_tokens": [["Ya", 0.5], [".", 0.9]]}
    assert recorded_steps(in_process) == recorded_steps(from_child) == (("Ya", 0.5), (".", 0.9))
    assert recorded_steps(None) == () and recorded_steps({"prompt_tokens": 3}) == ()


# --- the fallback -------------------------------------------------------------------------------------------

def test_a_confident_window_answer_is_kept_and_carries_its_confidence(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: CITED, confidence=0.9)
    answer = window_pipe(fake_config, gen).ask("Di mana Konvensi ditandatangani?")
    assert answer.answer_context == "window" and answer.confidence == 0.9
    assert answer.text.startswith("Konvensi ditandatangani di Hanoi") and not answer.refused


def test_an_unsure_window_answer_is_answered_again_from_the_passages(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: CITED, confidence=unsure_at("Hanoi"))
    events = list(window_pipe(fake_config, gen).stream("Di mana Konvensi ditandatangani?"))
    restarts = [e for e in events if isinstance(e, Restart)]
    answer = events[-1].answer
    assert isinstance(events[-1], Done) and len(restarts) == 1
    assert "confidence 0.05 below 0.20" in restarts[0].reason
    assert answer.answer_context == "passages" and "confidence 0.05" in (answer.window or "")
    assert "Potongan artikel" in gen.calls[-1][-1].content  # the passage-mode prompt followed
    draft = "".join(e.text for e in events[:events.index(restarts[0])] if isinstance(e, Token))
    assert draft == "Konvensi ditandatangani di"  # the draft stopped before its unsure word
    tokens_after = "".join(e.text for e in events[events.index(restarts[0]):] if isinstance(e, Token))
    assert tokens_after.strip() and CITED not in tokens_after  # only the passage answer streams after it


def unsure_at(word: str, low: float = 0.05, high: float = 0.9):
    """A fake's per-word probability: ``low`` for the words holding ``word``, ``high`` for the others."""
    return lambda piece: low if word in piece else high


def test_a_draft_unsure_from_its_first_word_streams_nothing(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: CITED, confidence=0.05)
    events = list(window_pipe(fake_config, gen).stream("Di mana Konvensi ditandatangani?"))
    assert not any(isinstance(e, Restart) for e in events)  # nothing of the draft was shown
    assert events[-1].answer.answer_context == "passages" and "confidence 0.05" in events[-1].answer.window
    assert [suffix for _, suffix in gen.evaluated]  # the window draft was asked for, then dropped


def test_an_unsure_draft_is_not_rewritten_into_the_question_language_first(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: "Konvensi ditandatangani di Hanoi [1].",
                          confidence=unsure_at("Hanoi"))
    answer = window_pipe(fake_config, gen).ask("Where was the Convention signed?")
    assert answer.answer_context == "passages"
    assert not any("Konvensi ditandatangani di" in m.content
                   for call in gen.calls for m in call if "Rewrite this answer" in m.content)


def test_the_fake_stops_where_the_llama_backend_would():
    from chatbot.generation.base import PrefixPrompt

    gen = PrefixStateFake(lambda prefix, suffix: "Ada 72 negara [1] kata Guterres.",
                          confidence=unsure_at("Guterres", low=0.1))
    prefix = PrefixPrompt("Aturan.", "Artikel.")
    assert "".join(gen.stream_with_prefix(prefix, "Q?", None, max_tokens=50, stop_below=0.2)) == \
        "Ada 72 negara [1] kata"
    assert recorded_steps(gen.last_stats)[-1] == (" Guterres.", 0.1)  # the unsure step is recorded
    assert "".join(gen.stream_with_prefix(prefix, "Q?", None, max_tokens=50, stop_below=0.05)) == \
        "Ada 72 negara [1] kata Guterres."


def test_the_threshold_decides(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: CITED, confidence=0.3)
    assert window_pipe(fake_config, gen).ask("Di mana Konvensi?").answer_context == "window"
    assert window_pipe(fake_config, gen, window_fallback_confidence=0.5).ask(
        "Di mana Konvensi?").answer_context == "passages"
    assert window_pipe(fake_config, PrefixStateFake(lambda prefix, suffix: CITED, confidence=0.01),
                       window_fallback_confidence=0).ask("Di mana Konvensi?").answer_context == "window"


def test_a_window_refusal_is_answered_again_from_the_passages(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: "NOT FOUND")
    events = list(window_pipe(fake_config, gen).stream("Siapa yang memimpin delegasi Rusia?"))
    answer = events[-1].answer
    assert not any(isinstance(e, Restart) for e in events)  # the held-back marker never streamed
    assert answer.answer_context == "passages" and "refusal" in (answer.window or "")
    assert not answer.refused and answer.citations  # the fake's passage answer cites passage [1]


def test_a_generator_that_records_no_confidence_keeps_its_window_answer(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: CITED)  # no top tokens recorded (a served backend)
    answer = window_pipe(fake_config, gen).ask("Di mana Konvensi ditandatangani?")
    assert answer.answer_context == "window" and answer.confidence is None


def test_the_terminal_shows_only_the_answer_after_a_restart(fake_config, capsys):
    gen = PrefixStateFake(lambda prefix, suffix: "Jawaban yang ragu-ragu sekali [1].",
                          confidence=unsure_at("ragu"))
    out = io.StringIO()
    answer = stream_answer(window_pipe(fake_config, gen), "Di mana Konvensi ditandatangani?", (), out=out)
    assert answer.answer_context == "passages"
    assert "confidence 0.05" in capsys.readouterr().err
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines[0].strip() == "Jawaban yang"  # the draft up to its unsure word, then cut off
    assert "ragu-ragu" not in out.getvalue() and "Jawaban yang" not in "\n".join(lines[1:])


@pytest.mark.parametrize("flag,value", [("--fallback-confidence", "0.35")])
def test_the_flag_sets_the_threshold(flag, value):
    from chatbot.cli import build_parser, config_from_args

    args = build_parser().parse_args(["ask", flag, value, "Di mana?"])
    assert config_from_args(args).window_fallback_confidence == 0.35


class OneStreamAtATime(PrefixStateFake):
    """Like a supervised model process: a new reply may start only once the last one is closed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.open = False

    def _guarded(self, pieces):
        assert not self.open, "a second reply started while the first was still open"
        self.open = True
        try:
            yield from pieces
        finally:
            self.open = False

    def stream_with_prefix(self, prefix, suffix, state, *, max_tokens, stop_below=0.0):
        return self._guarded(super().stream_with_prefix(prefix, suffix, state, max_tokens=max_tokens,
                                                        stop_below=stop_below))

    def stream(self, messages, *, max_tokens):
        return self._guarded(super().stream(messages, max_tokens=max_tokens))


@pytest.mark.parametrize("reply", ["NOT FOUND and more words after it", "Jawaban ragu [1]."])
def test_the_window_reply_is_closed_before_the_passage_reply_starts(fake_config, reply):
    gen = OneStreamAtATime(lambda prefix, suffix: reply, confidence=0.05)
    answer = window_pipe(fake_config, gen).ask("Di mana Konvensi ditandatangani?")
    assert answer.answer_context == "passages" and not gen.open


# --- the replay of saved reports (evaluation/replay.py) ------------------------------------------------

def _record(item_id, language="id", answerable=True, correct=False, refused=False, confidence=None):
    return {"id": item_id, "language": language, "answerable": answerable, "correct": correct,
            "refused": refused, "confidence": confidence}


def test_replay_takes_the_passage_answer_below_the_threshold_and_for_refusals():
    from chatbot.evaluation.replay import replay_fallback

    window = [_record("a", correct=True, confidence=0.5), _record("b", confidence=0.1),
              _record("c", "en", refused=True), _record("u", answerable=False, confidence=0.15)]
    passages = [_record("a", correct=False, confidence=0.9), _record("b", correct=True),
                _record("c", "en", correct=True), _record("u", answerable=False, refused=True)]
    off = replay_fallback(window, passages, 0.0, on_refusal=False)
    assert (off.fallbacks, off.correct, off.refused, off.over_refused) == (
        0, {"en": (0, 1), "id": (1, 2)}, (0, 1), (1, 3))
    on = replay_fallback(window, passages, 0.2)
    assert (on.fallbacks, on.correct, on.refused, on.over_refused) == (
        3, {"en": (1, 1), "id": (2, 2)}, (1, 1), (0, 3))


# --- the llama.cpp backend's early stop, without a model ----------------------------------------------------

WORDS = ["Ada", " 72", " negara", " [", "1", "]", " kata", " Guterres", "."]
VOCAB = 1000


class WordLlm:
    """Stands in for ``llama_cpp.Llama`` where the backend only detokenizes: token i is ``WORDS[i]``."""

    def detokenize(self, tokens):
        return "".join(WORDS[t] for t in tokens).encode("utf-8")


def scripted_chunks(recorder, probabilities, closed):
    """Chunks as llama-cpp-python streams them: the logits processor sees each step before its chunk."""
    import numpy as np

    def chunks():
        try:
            for token, p in enumerate(probabilities):
                logits = np.full(VOCAB, np.log((1 - p) / (VOCAB - 1)))  # the rest spread thin: p is the top
                logits[token] = np.log(p)
                recorder(None, logits)
                yield {"choices": [{"text": WORDS[token]}]}
        finally:
            closed.append(True)

    return chunks()


@pytest.mark.parametrize("stop_below,expected", [
    (0.2, "Ada 72 negara [1] kata"),  # " Guterres" (0.1) is the first content token below 0.2
    (0.0, "Ada 72 negara [1] kata Guterres."),  # off: the whole reply
    (0.05, "Ada 72 negara [1] kata Guterres."),  # nothing below 0.05
])
def test_the_backend_stops_before_the_first_content_token_below_the_threshold(tmp_path, stop_below,
                                                                              expected):
    from chatbot.generation.llama_cpp_backend import LlamaCppGenerator, TopTokens, token_text

    gen = LlamaCppGenerator(None, tmp_path, threads=1)
    gen._llm = WordLlm()
    recorder = TopTokens(lambda token: token_text(gen._llm, token), stop_below)
    probabilities = [0.9, 0.8, 0.9, 0.5, 0.01, 0.5, 0.9, 0.1, 0.9]  # "1" inside [..] is not content
    closed: list[bool] = []
    pieces = gen._timed_stream(lambda: (scripted_chunks(recorder, probabilities, closed), 0),
                               lambda chunk: chunk["choices"][0]["text"], 5, recorder)
    assert "".join(pieces) == expected and closed == [True]
    steps = gen.last_stats.top_tokens
    assert steps[-1][0] == (" Guterres" if stop_below == 0.2 else ".")  # the unsure step is recorded
    assert (content_confidence(steps) < stop_below) == (stop_below == 0.2)


CHILD = """
import sys
sys.path.insert(0, {root!r})
from chatbot.generation import worker
from chatbot.generation.fake import PrefixStateFake
sys.exit(worker.main(lambda spec, config: PrefixStateFake(
    lambda prefix, suffix: "Konvensi ditandatangani di Hanoi [1].",
    confidence=lambda word: 0.05 if "Hanoi" in word else 0.9)))
"""


def test_the_model_process_stops_the_draft_in_the_child():
    import sys
    from pathlib import Path

    from chatbot.config import Config
    from chatbot.generation.base import PrefixPrompt
    from chatbot.generation.supervised import SupervisedGenerator

    root = str(Path(__file__).resolve().parents[1])
    gen = SupervisedGenerator("fake", Config(), command=[sys.executable, "-c", CHILD.format(root=root)])
    prefix = PrefixPrompt("Aturan.", "Artikel.")
    try:
        assert "".join(gen.stream_with_prefix(prefix, "Di mana?", None, max_tokens=50, stop_below=0.2)) == \
            "Konvensi ditandatangani di"
        assert recorded_steps(gen.last_stats)[-1] == (" Hanoi", 0.05)
        assert "".join(gen.stream_with_prefix(prefix, "Di mana?", None, max_tokens=50)) == \
            "Konvensi ditandatangani di Hanoi [1]."  # no threshold sent: the whole reply
    finally:
        gen.close()
