"""The llama.cpp backend on real models: SmolLM2-135M for behaviour, the bundled Qwen for answers and
speed."""

from __future__ import annotations

import os
import signal

import pytest
from generation_fixtures import smol_gguf

from chatbot.config import default_cache_dir
from chatbot.errors import ModelError
from chatbot.generation.base import Message
from chatbot.generation.llama_cpp_backend import LlamaCppGenerator

pytestmark = pytest.mark.model

QUESTION = [Message("system", "You are a helpful assistant. Answer briefly."),
            Message("user", "What is the capital of France?")]


@pytest.fixture(scope="module")
def smol(tmp_path_factory) -> LlamaCppGenerator:
    return LlamaCppGenerator(smol_gguf(), tmp_path_factory.mktemp("cache"), threads=2, context_tokens=512)


def test_streams_pieces_greedily_and_deterministically(smol):
    pieces = list(smol.stream(QUESTION, max_tokens=12))
    assert len(pieces) > 1 and all(isinstance(p, str) and p for p in pieces)
    assert smol.last_stats.completion_pieces == len(pieces) <= 12
    again = "".join(smol.stream(QUESTION, max_tokens=12))
    assert again == "".join(pieces)
    assert smol.name == "llama-cpp:SmolLM2-135M-Instruct.Q4_1"


def test_each_step_records_the_token_written_and_its_probability(smol):
    text = "".join(smol.stream(QUESTION, max_tokens=12))
    steps = smol.last_stats.top_tokens
    assert all(0.0 < p <= 1.0 for _, p in steps) and len(steps) >= smol.last_stats.completion_pieces
    assert "".join(t for t, _ in steps).startswith(text)  # greedy: the top token is the one written


def test_count_tokens_is_the_chat_templated_prompt(smol):
    n = smol.count_tokens(QUESTION)
    plain = len(smol.load().tokenize(b"You are a helpful assistant. Answer briefly. "
                                     b"What is the capital of France?", add_bos=False))
    assert n > plain  # the template's role markers count too
    list(smol.stream(QUESTION, max_tokens=2))
    assert smol.last_stats.prompt_tokens == n


def test_shared_prefix_is_reused_from_the_kv_cache(smol):
    system = Message("system", "Passages: " + "Konvensi Hanoi ditandatangani oleh 72 negara. " * 20)
    list(smol.stream([system, Message("user", "Berapa negara?")], max_tokens=2))
    list(smol.stream([system, Message("user", "Di mana?")], max_tokens=2))
    stats = smol.last_stats
    assert stats.cached_tokens > 0.8 * stats.prompt_tokens


def test_warm_up_caches_the_system_prompt_for_the_next_question(smol):
    system = Message("system", "Jawab hanya dari potongan artikel. " * 10)
    evaluated = smol.warm_up([system, Message("user", "")])
    list(smol.stream([system, Message("user", "Berapa negara menandatangani?")], max_tokens=2))
    system_only = smol.count_tokens([system]) - 3  # minus the generation prompt the template appends
    assert evaluated > system_only
    assert smol.last_stats.cached_tokens >= system_only


def test_a_prompt_longer_than_the_context_is_a_model_error(smol):
    long = [Message("user", "kata " * 600)]
    with pytest.raises(ModelError, match="context holds 512"):
        smol.stream(long, max_tokens=5)


def test_abandoned_stream_frees_the_model_for_the_next_call(smol):
    stream = smol.stream(QUESTION, max_tokens=20)
    next(stream)
    stream.close()
    assert "".join(smol.stream(QUESTION, max_tokens=3))


@pytest.fixture(scope="module")
def qwen() -> LlamaCppGenerator:
    return LlamaCppGenerator(None, default_cache_dir(), threads=2)


PASSAGES = (
    "[1] Upacara penandatanganan Konvensi Hanoi berlangsung di Hanoi pada 25 Oktober 2025. "
    "Konvensi tersebut ditandatangani oleh 72 negara pada hari pertama. Lebih dari 2.500 delegasi hadir. "
    "[2] Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan, yang berbicara tentang kerja sama "
    "internasional dalam memerangi kejahatan siber dan peningkatan kapasitas negara-negara berkembang. "
    "[3] Sekretaris Jenderal PBB António Guterres berpidato pada upacara pembukaan dan menyebut konvensi "
    "itu sebagai tonggak penting bagi kerja sama multilateral di ruang siber."
)
SYSTEM = Message("system", "Answer ONLY from the numbered passages, briefly, in the question's language. "
                           "Cite the passage number in square brackets, e.g. [1].")


def test_bundled_qwen_answers_from_the_passage_and_reuses_the_prefix(qwen):
    first = [SYSTEM, Message("user", f"Passages:\n{PASSAGES}\nQuestion: How many countries signed the "
                                     f"Hanoi Convention on the first day?")]
    reply = "".join(qwen.stream(first, max_tokens=30))
    cold = qwen.last_stats
    assert "72" in reply
    assert qwen.name == "llama-cpp:qwen2.5-coder-1.5b-instruct-q4_k_m"

    second = [SYSTEM,
              Message("user", f"Passages:\n{PASSAGES}\nQuestion: Siapa yang memimpin delegasi Rusia?")]
    reply2 = "".join(qwen.stream(second, max_tokens=30))
    warm = qwen.last_stats
    assert "Gutsan" in reply2
    # Only the question is evaluated again: the shared system prompt and passages come from the KV cache.
    assert cold.cached_tokens < 0.2 * cold.prompt_tokens
    assert warm.cached_tokens > 0.8 * warm.prompt_tokens


@pytest.mark.model
def test_bundled_qwen_in_the_supervised_child_matches_in_process_and_survives_a_crash():
    """The build setup made on this machine, run where the app runs it: in the supervised child process."""
    from chatbot.config import Config
    from chatbot.generation import make_generator
    from chatbot.generation.supervised import SupervisedGenerator

    messages = [SYSTEM,
                Message("user", f"Passages:\n{PASSAGES}\nQuestion: Siapa yang memimpin delegasi Rusia?")]
    local = make_generator("llama-cpp", Config(threads=2, model_process=False))  # same load options
    expected = "".join(local.stream(messages, max_tokens=24))
    assert "Gutsan" in expected
    del local
    child = make_generator("llama-cpp", Config(threads=2))
    assert isinstance(child, SupervisedGenerator)
    try:
        assert "".join(child.stream(messages, max_tokens=24)) == expected  # greedy: the very same answer
        assert child.last_stats["cached_tokens"] == 0 and child.last_stats["prompt_tokens"] > 100
        assert "".join(child.stream(messages, max_tokens=24)) == expected
        assert child.last_stats["cached_tokens"] > 0.8 * child.last_stats["prompt_tokens"]  # prefix reused
        pieces = child.stream(messages, max_tokens=24)
        next(pieces)
        os.kill(child.pid, signal.SIGSEGV)
        with pytest.raises(ModelError, match=r"signal 11, SIGSEGV"):
            list(pieces)
        assert "".join(child.stream(messages, max_tokens=24)) == expected  # a new child, the same answer
        assert child.restarts == 1
    finally:
        child.close()


def test_a_q8_0_kv_cache_saves_a_smaller_state_under_another_identity(tmp_path):
    from chatbot.generation import kv_cache_options
    from chatbot.generation.base import PrefixPrompt

    prefix = PrefixPrompt("Answer from the article.", "Artikel: " + "Konvensi Hanoi ditandatangani. " * 30)
    sizes, identities = {}, {}
    for kind in ("f16", "q8_0"):
        gen = LlamaCppGenerator(smol_gguf(), tmp_path / kind, threads=2, context_tokens=512,
                                options=kv_cache_options(kind))
        stats = gen.save_prefix_state(prefix, tmp_path / f"{kind}.state")
        sizes[kind], identities[kind] = stats["bytes"], gen.state_identity()
        answer = "".join(gen.stream_with_prefix(prefix, "Berapa?", tmp_path / f"{kind}.state", max_tokens=4))
        assert answer.strip()
    assert identities["f16"] != identities["q8_0"]
    assert sizes["q8_0"] < 0.7 * sizes["f16"]


def test_a_prefixed_reply_stops_before_its_first_unsure_content_token(tmp_path):
    from chatbot.generation.base import PrefixPrompt
    from chatbot.generation.confidence import content_confidence

    gen = LlamaCppGenerator(smol_gguf(), tmp_path, threads=2, context_tokens=512)
    prefix = PrefixPrompt("Answer from the article.",
                          "Article: The Hanoi Convention was signed by 72 countries.")
    whole = "".join(gen.stream_with_prefix(prefix, "Who signed it, and where?", None, max_tokens=24))
    lowest = content_confidence(gen.last_stats.top_tokens)
    assert lowest is not None and lowest < 0.999  # a 135M model is unsure of something in 24 tokens
    cut = "".join(gen.stream_with_prefix(prefix, "Who signed it, and where?", None, max_tokens=24,
                                         stop_below=lowest + 1e-6))
    steps = gen.last_stats.top_tokens
    assert whole.startswith(cut) and len(cut) < len(whole)  # the same greedy reply, cut short
    assert content_confidence(steps) == lowest and steps[-1][1] == lowest  # it stopped at that token
