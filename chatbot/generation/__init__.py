"""Generators: chat messages in, streamed text out. ``make_generator`` turns a spec string into one.

Accepted specs (``Config.generator`` / ``--generator``):

- ``llama-cpp``                     the bundled Qwen2.5-Coder-1.5B-Instruct Q4_K_M (assembled on first use)
- ``llama-cpp:<path.gguf>``         any local GGUF file, through llama-cpp-python
- ``transformers:<hub id or dir>``  any causal LM through transformers (PyTorch)
- ``transformers:<dir>#<file.gguf>`` a GGUF file that transformers dequantizes on load
- ``openai:<base url>[#model]``     an OpenAI-compatible server, e.g. ``openai:http://127.0.0.1:8000/v1``
- ``fake``                          no model: answers with the first sentence of passage [1] and cites it

llama.cpp runs in a supervised child process (``supervised``) unless ``Config.model_process`` is off, so a
native crash in the model is reported and recovered from instead of killing the program.

Backends are imported only when chosen, and load their model on first use, so this module is cheap.
"""

from __future__ import annotations

from pathlib import Path

from chatbot.config import Config
from chatbot.errors import InputError
from chatbot.generation.base import Generator, Message

__all__ = ["ACCEPTED_SPECS", "Generator", "Message", "make_generator"]

ACCEPTED_SPECS = (
    '"llama-cpp", "llama-cpp:<path.gguf>", "transformers:<hub id or folder>", '
    '"transformers:<folder>#<file.gguf>", "openai:<base url>[#model]" or "fake"'
)


def kv_cache_options(kind: str) -> dict[str, object]:
    """llama.cpp load options for the KV cache's number type ("f16", the default, or "q8_0", whose V cache
    needs flash attention). They are part of a saved state's identity."""
    if kind == "f16":
        return {}
    if kind == "q8_0":
        return {"type_k": 8, "type_v": 8, "flash_attn": True}  # GGML_TYPE_Q8_0
    raise InputError(f"Unknown KV cache type {kind!r}; use f16 or q8_0.")


def make_generator(spec: str, config: Config) -> Generator:
    """The generator named by ``spec``, configured from ``config`` (threads, context, temperature, cache)."""
    kind, _, rest = spec.strip().partition(":")
    rest = rest.strip()
    if kind == "llama-cpp":
        from chatbot.generation.llama_cpp_backend import LlamaCppGenerator, display_name

        path = Path(rest).expanduser() if rest else None
        if config.model_process:
            from chatbot.generation.supervised import SupervisedGenerator

            return SupervisedGenerator(spec.strip(), config, name=display_name(path))
        from chatbot.generation.tuning import build_info, resolve_repack

        build = build_info()
        repack = resolve_repack(config.llama_repack, config.cache_dir, build.key if build else None)
        return LlamaCppGenerator(path, config.cache_dir, repack=repack,
                                 threads=config.threads, context_tokens=config.generator_context_tokens(),
                                 temperature=config.temperature, options=kv_cache_options(config.kv_cache))
    if kind == "transformers" and rest:
        from chatbot.generation.transformers_backend import TransformersGenerator

        model, _, gguf_file = rest.partition("#")
        return TransformersGenerator(model, threads=config.threads, gguf_file=gguf_file or None,
                                     temperature=config.temperature)
    if kind == "openai" and rest:
        from chatbot.generation.openai_backend import OpenAIGenerator

        base_url, _, model = rest.partition("#")
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"The server address in {spec!r} must start with http:// or https://, "
                             f"e.g. openai:http://127.0.0.1:8000/v1")
        return OpenAIGenerator(base_url, model=model or "default", temperature=config.temperature)
    if kind == "fake" and not rest:
        from chatbot.generation.fake import FirstPassageGenerator

        return FirstPassageGenerator()
    raise InputError(f"Unknown generator {spec!r}. Use one of: {ACCEPTED_SPECS}.")
