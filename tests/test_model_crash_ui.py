"""A native crash of the model while the web UI (or the terminal chat) streams an answer: that chat shows a
clear error, its next question is answered by a restarted model process, and another open chat goes on.

The real ``_Handlers`` over a real ``Pipeline``; the model is the supervised child of
``fake_model_worker.py``, which streams slowly and waits mid-answer (the first time only), so the test can
``kill -SEGV`` it exactly while an answer streams.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from chatbot.generation.supervised import SupervisedGenerator
from chatbot.pipeline import Pipeline
from chatbot.types import Token
from chatbot.web import app

FAKE_WORKER = Path(__file__).with_name("fake_model_worker.py")


def wait_for_pid(marker: Path, timeout_s: float = 20.0) -> int:
    """The pid the fake worker writes into ``marker`` as it starts to wait (just after its second piece)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = marker.read_text() if marker.exists() else ""
        if text.strip():
            return int(text)
        time.sleep(0.01)
    raise AssertionError(f"the fake model never wrote {marker}")


def ask_all(handlers, question, state):
    """Run one ask to the end; returns the new (answers, messages) state and the last yield."""
    answers, messages = state
    *_, last = handlers.ask(question, answers, messages, "s")
    return (last.answers, last.messages), last


def test_kill_segv_mid_answer_shows_an_error_in_that_chat_and_the_next_question_is_answered(
        fake_config, tmp_path):
    config = fake_config.with_(max_new_tokens=6)
    marker = tmp_path / "hang.marker"
    marker.write_text("")  # behave until the test removes it
    generator = SupervisedGenerator(
        "fake", config, command=[sys.executable, str(FAKE_WORKER), "hang", "2", str(marker)],
        stall_timeout_s=30)
    pipeline = Pipeline(config, generator=generator)
    handlers = app._Handlers(pipeline, throttle_s=0.0, export_dir=tmp_path / "exports")
    try:
        # Chat B has a finished exchange before the crash.
        chat_b, _ = ask_all(handlers, "Siapa ketua komite negosiasi?", ((), []))
        assert len(chat_b[0]) == 1 and chat_b[0][0].text.startswith("w1")

        # Chat A: the model process is killed with SIGSEGV while the answer streams.
        first_question = "Berapa negara yang menandatangani Konvensi Hanoi?"
        marker.unlink()  # the next stream waits after two pieces (and writes its pid into the marker)
        stream = handlers.ask(first_question, (), [], "a")
        yields = []
        for update in stream:
            yields.append(update)
            if "w2" in str(update.chat):  # two pieces shown in the pending bubble
                break
        os.kill(wait_for_pid(marker), signal.SIGSEGV)
        yields.extend(stream)
        last = yields[-1]
        messages, answers, box = last.messages, last.answers, last.box
        error = str(last.chat[-1]["content"])
        assert "stopped unexpectedly (signal 11, SIGSEGV)" in error and "restarting" in error
        assert answers == ()  # the failed turn is not in the history
        assert box == first_question  # the question goes back into the box

        # Chat A again: answered by a new model process.
        state_a, _ = ask_all(handlers, first_question, ((), messages))
        assert len(state_a[0]) == 1 and state_a[0][0].text.startswith("w1 w2 w3")
        assert generator.restarts == 1

        # Chat B keeps its history and goes on as a follow-up.
        follow_up = list(pipeline.stream("Dan siapa yang memimpin delegasi Rusia?", app._history(chat_b[0])))
        assert any(isinstance(e, Token) for e in follow_up)
        state_b, _ = ask_all(handlers, "Dan siapa yang memimpin delegasi Rusia?", chat_b)
        assert [a.question for a in state_b[0]] == ["Siapa ketua komite negosiasi?",
                                                    "Dan siapa yang memimpin delegasi Rusia?"]
    finally:
        generator.close()


def test_terminal_chat_survives_a_model_crash_and_answers_the_next_question(fake_config, tmp_path,
                                                                           monkeypatch, capsys):
    from chatbot import cli

    config = fake_config.with_(max_new_tokens=4)
    generator = SupervisedGenerator("fake", config, command=[
        sys.executable, str(FAKE_WORKER), "segv", "1", str(tmp_path / "segv.marker")])
    monkeypatch.setattr(cli, "_pipeline", lambda cfg: Pipeline(config, generator=generator))
    lines = iter(["Berapa negara yang menandatangani Konvensi Hanoi?",
                  "Berapa negara yang menandatangani Konvensi Hanoi?", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    try:
        assert cli.main(["chat", "--corpus", str(config.corpus_dir), "--index", str(config.index_dir),
                         "--embedder", "fake", "--refusal-threshold", "0.05"]) == 0
    finally:
        generator.close()
    captured = capsys.readouterr()
    assert "stopped unexpectedly (signal 11, SIGSEGV)" in captured.err
    assert "w1 w2 w3 w4" in captured.out  # the second question, answered by a restarted model process
    assert generator.restarts == 1
