"""Generation with a GGUF model through llama-cpp-python, on the CPU.

``LlamaCppGenerator`` loads the model on first use, once, and keeps one ``Llama`` object (one KV cache)
for its lifetime. That matters for speed: llama-cpp-python compares each new prompt's tokens with the
tokens already in the cache and evaluates only the part after the longest common prefix, so the
system prompt (and passages shared by consecutive questions) are not recomputed. Decoding is greedy at
temperature 0, so the same prompt gives the same reply.

The prompt is formatted with the chat template stored in the GGUF file (``create_chat_completion``).
With ``model_path=None`` the bundled Qwen2.5-Coder-1.5B-Instruct is assembled from its part packages
(see ``model_files``).

This module does not build prompts, decide refusals or serialise concurrent callers beyond one lock:
one object runs one generation at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError, ModelError
from chatbot.generation.base import Message
from chatbot.generation.model_files import MODEL_FILENAME, bundled_model_path

LLAMA_CPP_PIN = "llama-cpp-python==0.3.36"

_BUSY_TIMEOUT_S = 300  # one generation at a time; a second caller waits this long at most

# Measured with bench/generation_bench.py on the 2-core AVX2 CPU: batches of 256 read a 400-token prompt
# ~10 % faster than 512; flash attention and a q8_0 KV cache made no difference beyond the noise, so
# they stay off; mmap loads in ~1.5 s instead of ~4 s without it.
DEFAULT_OPTIONS: Mapping[str, Any] = {"n_batch": 256, "n_ubatch": 256, "use_mmap": True}


@dataclass(frozen=True)
class GenerationStats:
    """What the last ``stream`` call did: prompt size, how much of it came from the cache, and timings."""

    prompt_tokens: int
    cached_tokens: int  # prompt tokens reused from the previous call's KV cache (an upper bound)
    completion_pieces: int  # streamed pieces; one per generated token except for merged multibyte text
    first_token_s: float | None
    total_s: float


def new_llama(*, repack: bool = True, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(**kwargs)``, with llama.cpp's extra CPU buffer types (the repack kernels) on or off.

    ``Llama()`` has no keyword for ``llama_model_params.use_extra_bufts``, so for ``repack=False`` the
    defaults it starts from are patched for the duration of this one load. Whether repacking is faster
    depends on the CPU: ``chatbot doctor --tune`` measures both (see ``tuning``).
    """
    import llama_cpp
    import llama_cpp.llama_cpp as api  # the module whose defaults Llama() reads

    if repack:
        return llama_cpp.Llama(**kwargs)
    defaults = api.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    api.llama_model_default_params = without_extra_buffers
    try:
        return llama_cpp.Llama(**kwargs)
    finally:
        api.llama_model_default_params = defaults


def display_name(model_path: Path | None) -> str:
    """The name shown in the UI and reports, e.g. "llama-cpp:qwen2.5-coder-1.5b-instruct-q4_k_m"."""
    stem = Path(MODEL_FILENAME).stem if model_path is None else Path(model_path).stem
    return f"llama-cpp:{stem}"


def _messages_payload(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


class LlamaCppGenerator:
    def __init__(self, model_path: Path | None, cache_dir: Path, threads: int, context_tokens: int = 2048,
                 temperature: float = 0.0, seed: int = 0, *, repack: bool = True,
                 options: Mapping[str, Any] | None = None, progress: bool = True) -> None:
        """``options`` are extra ``llama_cpp.Llama`` keyword arguments (e.g. ``{"flash_attn": True}``);
        ``repack`` puts the weights in llama.cpp's CPU repack buffers (see ``new_llama``)."""
        self.repack = bool(repack)
        self.model_path = None if model_path is None else Path(model_path)
        self.cache_dir = Path(cache_dir)
        self.threads = max(1, int(threads))
        self.context_tokens = int(context_tokens)
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        self.progress = progress
        self.name = display_name(self.model_path)
        self.last_stats: GenerationStats | None = None
        self.load_seconds: float | None = None
        self._llm: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    # --- loading ---------------------------------------------------------------------------------------

    def resolved_path(self) -> Path:
        """The GGUF file this generator runs (assembling the bundled model when needed)."""
        if self.model_path is None:
            return bundled_model_path(self.cache_dir, progress=self.progress)
        if not self.model_path.is_file():
            raise ModelError(
                f"The model file {self.model_path} does not exist. Pass the path of a .gguf file, "
                f'or use the generator "llama-cpp" for the bundled model.'
            )
        return self.model_path

    def load(self) -> Any:
        """Load the model now (it otherwise loads on first use). Returns the ``llama_cpp.Llama`` object."""
        with self._load_lock:
            if self._llm is None:
                self._llm = self._load()
        return self._llm

    def _load(self) -> Any:
        try:
            import llama_cpp  # noqa: F401 - fail here, with the install hint, when it is missing
            from llama_cpp import llama_chat_format
        except ImportError as err:
            raise ModelError(
                f"The llama.cpp generator needs llama-cpp-python. Install it with: pip install {LLAMA_CPP_PIN}"
            ) from err
        path = self.resolved_path()
        started = time.perf_counter()
        try:
            llm = new_llama(
                repack=self.repack, model_path=str(path), n_ctx=self.context_tokens, n_threads=self.threads,
                n_threads_batch=self.threads, seed=self.seed, verbose=False, **self.options)
        except Exception as err:  # llama-cpp raises ValueError for unreadable files
            raise ModelError(f"The model file {path} could not be loaded by llama.cpp ({err}). "
                             f"Check that it is a complete GGUF file.") from err
        self.load_seconds = time.perf_counter() - started
        template = llm.metadata.get("tokenizer.chat_template")
        if template:
            eos_id, bos_id = llm.token_eos(), llm.token_bos()
            self._formatter = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos_id) if eos_id != -1 else "",
                bos_token=llm._model.token_get_text(bos_id) if bos_id != -1 else "",
                stop_token_ids=[eos_id])
        return llm

    # --- the Generator interface ------------------------------------------------------------------------

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The token ids of the chat-templated prompt (what the model evaluates before answering)."""
        llm = self.load()
        try:
            if self._formatter is None:  # no template in the file: llama-cpp falls back to its own format
                text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
                return llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            result = self._formatter(messages=_messages_payload(messages))
            return llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        except Exception as err:
            raise ModelError(f"The prompt could not be tokenized: {err}") from err

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def warm_up(self, messages: Sequence[Message]) -> int:
        """Load the model and evaluate ``messages`` into the KV cache; returns the tokens evaluated.

        A later prompt that starts the same way (e.g. the same system prompt) then evaluates only the
        rest, so calling this at start-up with the system prompt shortens the first answer's wait.
        """
        llm = self.load()
        tokens = self.prompt_tokens(messages)
        if not self._run_lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise ModelError("The llama.cpp model is still busy with another answer; try again shortly.")
        try:
            llm.reset()
            llm.eval(tokens)
        except Exception as err:
            raise ModelError(f"The llama.cpp model failed while reading the prompt: {err}") from err
        finally:
            self._run_lock.release()
        return len(tokens)

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        llm = self.load()
        tokens = self.prompt_tokens(messages)
        if len(tokens) + 1 >= self.context_tokens:
            raise ModelError(
                f"The prompt takes {len(tokens)} tokens but the model's context holds {self.context_tokens}. "
                f"Use fewer or shorter passages, or a larger context."
            )
        return self._run(llm, messages, tokens, max_tokens)

    def _run(self, llm: Any, messages: Sequence[Message], tokens: list[int], max_tokens: int) -> Iterator[str]:
        if not self._run_lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise ModelError("The llama.cpp model is still busy with another answer; try again shortly.")
        try:
            cached = _common_prefix(llm._input_ids[: llm.n_tokens], tokens)
            started = time.perf_counter()
            first: float | None = None
            pieces = 0
            chunks = None
            try:
                chunks = llm.create_chat_completion(
                    messages=_messages_payload(messages), max_tokens=max_tokens, stream=True,
                    temperature=self.temperature, seed=self.seed, repeat_penalty=1.0)
                for chunk in chunks:
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        if first is None:
                            first = time.perf_counter() - started
                        pieces += 1
                        yield text
            except ChatbotError:
                raise
            except GeneratorExit:
                raise
            except Exception as err:
                raise ModelError(f"The llama.cpp model failed while generating: {err}") from err
            finally:
                if chunks is not None:
                    chunks.close()
                self.last_stats = GenerationStats(len(tokens), cached, pieces, first,
                                                  time.perf_counter() - started)
        finally:
            self._run_lock.release()


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
