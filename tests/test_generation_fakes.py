"""The scripted generators, the generator spec parser and the fast error paths of the real backends."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.errors import InputError, ModelError
from chatbot.generation import make_generator
from chatbot.generation.base import Message
from chatbot.generation.fake import (
    FirstPassageGenerator,
    FunctionGenerator,
    ScriptedGenerator,
    ScriptExhausted,
    word_pieces,
)

MESSAGES = [Message("system", "Answer from the passages."),
            Message("user", "Passages:\n[1] Konvensi Hanoi ditandatangani oleh 72 negara. Lainnya.\n"
                            "[2] Rusia hadir.\nQuestion: Berapa negara?")]


def test_word_pieces_join_back_exactly():
    text = "  Ada 72 negara [1].\n Selesai  "
    pieces = list(word_pieces(text))
    assert "".join(pieces) == text
    assert pieces[1] == " 72"


def test_scripted_generator_replies_in_order_and_records_calls():
    gen = ScriptedGenerator(["Pertama [1].", "Second reply here [2]."])
    first = list(gen.stream(MESSAGES, max_tokens=50))
    second = "".join(gen.stream(MESSAGES[:1], max_tokens=50))
    assert first == ["Pertama", " [1]."]
    assert second == "Second reply here [2]."
    assert gen.calls == [tuple(MESSAGES), tuple(MESSAGES[:1])]
    assert gen.remaining == 0


def test_scripted_generator_respects_max_tokens():
    gen = ScriptedGenerator(["one two three four five"])
    assert "".join(gen.stream(MESSAGES, max_tokens=2)) == "one two"


def test_scripted_exception_is_raised_as_model_error():
    gen = ScriptedGenerator([RuntimeError("boom"), ModelError("custom sentence.")])
    with pytest.raises(ModelError, match="boom"):
        gen.stream(MESSAGES, max_tokens=10)
    with pytest.raises(ModelError, match="^custom sentence.$"):
        gen.stream(MESSAGES, max_tokens=10)
    assert len(gen.calls) == 2


def test_empty_script_fails_clearly():
    gen = ScriptedGenerator(["only one"])
    list(gen.stream(MESSAGES, max_tokens=5))
    with pytest.raises(ScriptExhausted, match="no reply left for call 2"):
        gen.stream(MESSAGES, max_tokens=5)
    assert isinstance(ScriptExhausted("x"), AssertionError)


def test_count_tokens_counts_words():
    gen = ScriptedGenerator([])
    assert gen.count_tokens([Message("user", "satu dua  tiga\nempat")]) == 4


def test_function_generator_computes_reply_from_prompt():
    gen = FunctionGenerator(lambda msgs: f"{len(msgs)} messages, last from {msgs[-1].role}")
    assert "".join(gen.stream(MESSAGES, max_tokens=20)) == "2 messages, last from user"
    assert gen.calls == [tuple(MESSAGES)]


def test_function_generator_wraps_failures():
    gen = FunctionGenerator(lambda msgs: 1 / 0)
    with pytest.raises(ModelError, match="division by zero"):
        gen.stream(MESSAGES, max_tokens=5)


def test_first_passage_generator_quotes_and_cites_passage_one():
    gen = FirstPassageGenerator()
    assert gen.name == "fake"
    assert "".join(gen.stream(MESSAGES, max_tokens=50)) == "Konvensi Hanoi ditandatangani oleh 72 negara. [1]"
    no_passages = [Message("user", "Question: anything?")]
    assert "[1]" not in "".join(gen.stream(no_passages, max_tokens=50))


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(cache_dir=tmp_path / "cache", threads=1, temperature=0.0, model_process=False)


def test_make_generator_builds_each_kind_without_loading(config, tmp_path):
    from chatbot.generation.llama_cpp_backend import LlamaCppGenerator
    from chatbot.generation.openai_backend import OpenAIGenerator
    from chatbot.generation.transformers_backend import TransformersGenerator

    bundled = make_generator("llama-cpp", config)
    assert isinstance(bundled, LlamaCppGenerator) and bundled.model_path is None
    assert bundled.name == "llama-cpp:qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert not (tmp_path / "cache").exists()  # nothing assembled or loaded yet

    local = make_generator("llama-cpp:/models/x.gguf", config)
    assert local.model_path == Path("/models/x.gguf") and local.name == "llama-cpp:x"

    hf = make_generator("transformers:/models/smol#smol.gguf", config)
    assert isinstance(hf, TransformersGenerator)
    assert (hf.model, hf.gguf_file) == ("/models/smol", "smol.gguf")
    assert make_generator("transformers:HuggingFaceTB/SmolLM2-135M-Instruct", config).gguf_file is None

    api = make_generator("openai:http://127.0.0.1:8000/v1#qwen", config)
    assert isinstance(api, OpenAIGenerator)
    assert (api.base_url, api.model) == ("http://127.0.0.1:8000/v1", "qwen")
    assert make_generator("openai:http://127.0.0.1:8000/v1", config).model == "default"

    assert isinstance(make_generator("fake", config), FirstPassageGenerator)


@pytest.mark.parametrize("spec", ["", "gpt", "llama", "transformers", "transformers:", "openai:", "fake:x"])
def test_unknown_spec_lists_accepted_forms(config, spec):
    with pytest.raises(InputError, match="llama-cpp:<path.gguf>.*openai:<base url>"):
        make_generator(spec, config)


def test_missing_gguf_file_is_a_model_error(config, tmp_path):
    gen = make_generator(f"llama-cpp:{tmp_path / 'nope.gguf'}", config)
    with pytest.raises(ModelError, match="nope.gguf does not exist"):
        gen.stream(MESSAGES, max_tokens=5)


def test_unreadable_gguf_file_is_a_model_error(config, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ModelError, match="could not be loaded"):
        make_generator(f"llama-cpp:{bad}", config).count_tokens(MESSAGES)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_server_unreachable_is_a_model_error(config):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    gen = make_generator(f"openai:{url}", config)
    with pytest.raises(ModelError, match=f"unreachable at {url}"):
        list(gen.stream(MESSAGES, max_tokens=5))


def test_openai_rejects_an_address_without_scheme(config):
    with pytest.raises(InputError, match="must start with http"):
        make_generator("openai:127.0.0.1:8000/v1", config)


def test_openai_token_estimate_grows_with_text():
    from chatbot.generation.openai_backend import OpenAIGenerator

    gen = OpenAIGenerator("http://127.0.0.1:1/v1")
    short = gen.count_tokens([Message("user", "Halo")])
    long = gen.count_tokens([Message("user", "Halo " * 100)])
    assert 0 < short < long and long == pytest.approx(500 / 3.5, rel=0.1)


def test_missing_torch_names_the_pinned_install_command(monkeypatch):
    import sys

    from chatbot.generation.transformers_backend import TransformersGenerator

    monkeypatch.setitem(sys.modules, "torch", None)  # makes "import torch" fail
    gen = TransformersGenerator("some/model", threads=1)
    with pytest.raises(ModelError, match=r"pip install torch==2\.13\.0 transformers"):
        gen.count_tokens(MESSAGES)


def test_missing_llama_cpp_names_the_install_command(monkeypatch, config):
    import sys

    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    gen = make_generator("llama-cpp:/models/x.gguf", config)
    with pytest.raises(ModelError, match=r"pip install llama-cpp-python==0\.3\.36"):
        gen.stream(MESSAGES, max_tokens=5)
