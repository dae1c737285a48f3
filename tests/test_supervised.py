"""The supervised model process: crashes, hangs and early exits become clear errors and a restart."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.errors import ChatbotError, ModelError
from chatbot.generation import make_generator
from chatbot.generation.base import Message
from chatbot.generation.fake import first_passage_reply
from chatbot.generation.supervised import SupervisedGenerator, describe_exit

FAKE_WORKER = Path(__file__).with_name("fake_model_worker.py")
PROMPT = [Message("system", "Answer from the passages."),
          Message("user", "Passages:\n[1] Konvensi Hanoi ditandatangani oleh 72 negara. Lain.\n\nQ?")]


def misbehaving(tmp_path: Path, mode: str, after: int = 2, **kwargs) -> SupervisedGenerator:
    command = [sys.executable, str(FAKE_WORKER), mode, str(after), str(tmp_path / f"{mode}.marker")]
    return SupervisedGenerator("fake", Config(), command=command, **kwargs)


def test_real_worker_runs_the_fake_generator_in_a_child_process():
    gen = SupervisedGenerator("fake", Config(), name="fake")
    try:
        assert gen.pid is None  # nothing starts before the first use
        assert "".join(gen.stream(PROMPT, max_tokens=50)) == first_passage_reply(PROMPT)
        pid = gen.pid
        assert pid is not None and pid != os.getpid()
        assert gen.count_tokens(PROMPT) == sum(len(m.content.split()) for m in PROMPT)
        assert "".join(gen.stream(PROMPT, max_tokens=3)) == " ".join(first_passage_reply(PROMPT).split()[:3])
        assert gen.pid == pid and gen.restarts == 0  # one process serves every call
    finally:
        gen.close()
    assert gen.pid is None


def test_make_generator_supervises_llama_cpp_unless_turned_off():
    supervised = make_generator("llama-cpp", Config())
    assert isinstance(supervised, SupervisedGenerator)
    assert supervised.name == "llama-cpp:qwen2.5-coder-1.5b-instruct-q4_k_m" and supervised.pid is None
    in_process = make_generator("llama-cpp", Config(model_process=False))
    assert not isinstance(in_process, SupervisedGenerator)


@pytest.mark.parametrize("mode, expected", [
    ("segv", "signal 11, SIGSEGV"),
    ("abort", "signal 6, SIGABRT"),
    ("exit", "exit code 3"),
])
def test_a_crash_mid_stream_is_reported_and_the_next_question_is_answered(tmp_path, mode, expected):
    gen = misbehaving(tmp_path, mode, after=2)
    try:
        received: list[str] = []
        with pytest.raises(ModelError) as caught:
            received.extend(gen.stream(PROMPT, max_tokens=6))  # keeps what arrived before the error
        message = str(caught.value)
        assert f"stopped unexpectedly ({expected})" in message and "restarting" in message
        assert received == [" w1", " w2"]  # what streamed before the crash arrived
        first_pid = int((tmp_path / f"{mode}.marker").read_text())
        assert gen.pid is None
        assert "".join(gen.stream(PROMPT, max_tokens=4)) == " w1 w2 w3 w4"
        assert gen.restarts == 1 and gen.pid not in (None, first_pid)
    finally:
        gen.close()


def test_a_hung_model_is_killed_after_the_stall_timeout_and_restarted(tmp_path):
    gen = misbehaving(tmp_path, "hang", after=1, stall_timeout_s=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(ModelError, match="stopped responding for 1 s"):
            list(gen.stream(PROMPT, max_tokens=5))
        assert time.monotonic() - started < 10
        hung_pid = int((tmp_path / "hang.marker").read_text())
        time.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(hung_pid, 0)  # the hung process is gone, not left behind
        assert "".join(gen.stream(PROMPT, max_tokens=3)) == " w1 w2 w3"
    finally:
        gen.close()


def test_kill_segv_from_outside_while_streaming(tmp_path):
    gen = misbehaving(tmp_path, "hang", after=2)  # streams two pieces, then waits: a long generation
    try:
        pieces = gen.stream(PROMPT, max_tokens=5)
        assert next(pieces) == " w1"
        os.kill(gen.pid, signal.SIGSEGV)
        with pytest.raises(ModelError, match=r"signal 11, SIGSEGV"):
            list(pieces)
        assert "".join(gen.stream(PROMPT, max_tokens=2)) == " w1 w2"
    finally:
        gen.close()


def test_stopping_a_stream_early_cancels_it_and_keeps_the_process(tmp_path):
    gen = misbehaving(tmp_path, "ok")
    try:
        pieces = gen.stream(PROMPT, max_tokens=200)
        assert [next(pieces), next(pieces)] == [" w1", " w2"]
        pid = gen.pid
        started = time.monotonic()
        pieces.close()  # e.g. the not-found marker was seen, or the user cleared the chat
        assert time.monotonic() - started < 1.5  # cancelled, not run to 200 pieces (2 s)
        assert "".join(gen.stream(PROMPT, max_tokens=3)) == " w1 w2 w3"  # no stale pieces from before
        assert gen.pid == pid and gen.restarts == 0
    finally:
        gen.close()


def test_a_failure_reported_by_the_child_keeps_its_message(tmp_path):
    gen = SupervisedGenerator("no-such-backend", Config())
    try:
        with pytest.raises(ChatbotError, match="Unknown generator 'no-such-backend'"):
            list(gen.stream(PROMPT, max_tokens=3))
    finally:
        gen.close()


def test_a_child_that_cannot_start_is_a_model_error():
    gen = SupervisedGenerator("fake", Config(), command=["/nonexistent/python"])
    with pytest.raises(ModelError, match="could not be started"):
        gen.count_tokens(PROMPT)


def test_describe_exit():
    assert describe_exit(-9) == "signal 9, SIGKILL"
    assert describe_exit(2) == "exit code 2"


def test_close_stops_the_child_even_while_a_stream_is_open(tmp_path):
    gen = misbehaving(tmp_path, "hang", after=1)
    pieces = gen.stream(PROMPT, max_tokens=5)
    assert next(pieces) == " w1"
    started = time.monotonic()
    gen.close()  # e.g. a test failed or the program exits mid-answer: must not wait for the stream
    assert time.monotonic() - started < 10 and gen.pid is None
    with pytest.raises(ModelError):
        list(pieces)
