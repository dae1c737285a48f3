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

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError, ModelError
from chatbot.generation.base import Message, PrefixPrompt
from chatbot.generation.confidence import ContentConfidence
from chatbot.generation.model_files import MODEL_FILENAME, bundled_model_path

LLAMA_CPP_PIN = "llama-cpp-python==0.3.36"

_BUSY_TIMEOUT_S = 300  # one generation at a time; a second caller waits this long at most

# Measured with bench/generation_bench.py (figures: docs/experiments.md, *Settings*): batches of 256 read
# a RAG prompt faster than 512; flash attention and a q8_0 KV cache made no difference beyond the noise,
# so they stay off; mmap loads the model faster than reading it in.
DEFAULT_OPTIONS: Mapping[str, Any] = {"n_batch": 256, "n_ubatch": 256, "use_mmap": True}


@dataclass(frozen=True)
class GenerationStats:
    """What the last ``stream`` call did: prompt size, how much of it came from the cache, and timings."""

    prompt_tokens: int
    cached_tokens: int  # prompt tokens reused from the previous call's KV cache (an upper bound)
    completion_pieces: int  # streamed pieces; one per generated token except for merged multibyte text
    first_token_s: float | None
    total_s: float
    # Each generated step's most likely token (its text) and its probability (softmax of the raw logits,
    # before sampling; at temperature 0 it is the token generated): read by ``generation/confidence.py``.
    top_tokens: tuple[tuple[str, float], ...] = ()


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


class TopTokens:
    """A llama-cpp-python logits processor that records each step's most likely token and its probability,
    and leaves the logits unchanged (so decoding picks the same tokens as without it).

    Given ``stop_below`` (and ``text_of``, a token id's text), it also follows the answer's confidence step
    by step (``generation/confidence.py``): ``unsure`` turns true at the first content token whose
    probability is below ``stop_below``, and the stream stops there."""

    def __init__(self, text_of: Callable[[int], str] | None = None, stop_below: float = 0.0) -> None:
        self.steps: list[tuple[int, float]] = []
        self._text_of = text_of
        self._stop_below = stop_below
        self._watch = ContentConfidence() if text_of is not None and stop_below > 0 else None

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        import numpy as np

        best = int(np.argmax(logits))
        top = float(logits[best])
        p = 1.0 / float(np.exp(logits - top, dtype=np.float64).sum())
        self.steps.append((best, p))
        if self._watch is not None and self._text_of is not None:
            self._watch.add(self._text_of(best), p)
        return logits

    @property
    def unsure(self) -> bool:
        """A content token so far fell below ``stop_below``."""
        return self._watch is not None and self._watch.below(self._stop_below)

    def tokens(self, llm: Any) -> tuple[tuple[str, float], ...]:
        """The recorded steps as (token text, probability)."""
        return tuple((token_text(llm, token), round(p, 4)) for token, p in self.steps)


def token_text(llm: Any, token: int) -> str:
    """One token's text (a piece of a multibyte character reads as U+FFFD)."""
    return str(llm.detokenize([token]).decode("utf-8", errors="replace"))


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
        self._prefix_tokens: dict[tuple[str, bool], list[int]] = {}

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
                "The llama.cpp generator needs llama-cpp-python. Install it with: "
                f"pip install {LLAMA_CPP_PIN}"
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

    def _run(self, llm: Any, messages: Sequence[Message], tokens: list[int],
             max_tokens: int) -> Iterator[str]:
        import llama_cpp

        recorder = TopTokens()

        def start() -> tuple[Iterator[dict], int]:
            cached = _common_prefix(llm._input_ids[: llm.n_tokens], tokens)
            chunks = llm.create_chat_completion(
                messages=_messages_payload(messages), max_tokens=max_tokens, stream=True,
                temperature=self.temperature, seed=self.seed, repeat_penalty=1.0,
                logits_processor=llama_cpp.LogitsProcessorList([recorder]))
            return chunks, cached

        return self._timed_stream(start, lambda chunk: chunk["choices"][0]["delta"].get("content"),
                                  len(tokens), recorder)

    def _timed_stream(self, start: Callable[[], tuple[Iterator[dict], int]],
                      text_of: Callable[[dict], str | None], prompt_tokens: int,
                      recorder: TopTokens) -> Iterator[str]:
        """Yield the text of each chunk that ``start()`` opens (it returns the chunks and how many prompt
        tokens came from the cache), one generation at a time, and record ``last_stats``."""
        if not self._run_lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise ModelError("The llama.cpp model is still busy with another answer; try again shortly.")
        try:
            started = time.perf_counter()
            first: float | None = None
            pieces = cached = 0
            chunks: Any = None
            try:
                chunks, cached = start()
                for chunk in chunks:
                    if recorder.unsure:  # the fallback is certain: the rest of this draft would be dropped
                        break
                    text = text_of(chunk)
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
                self.last_stats = GenerationStats(prompt_tokens, cached, pieces, first,
                                                  time.perf_counter() - started,
                                                  recorder.tokens(self._llm))
        finally:
            self._run_lock.release()


    # --- prefix states (window mode, see chatbot/answer/window_states.py) ------------------------------

    def state_identity(self) -> str:
        """What a saved prefix state depends on besides its text: the model file, the build options and
        the context layout. A state saved under another identity is never restored."""
        from chatbot.generation.model_files import MODEL_SHA256

        if self.model_path is None:
            model = f"sha256:{MODEL_SHA256}"
        else:
            st = self.model_path.stat()
            model = f"{self.model_path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        try:
            import llama_cpp

            version = getattr(llama_cpp, "__version__", "?")
        except ImportError:  # pragma: no cover - loading fails first with the install hint
            version = "?"
        options = {k: self.options[k] for k in sorted(self.options) if k not in ("use_mmap", "use_mlock")}
        return json.dumps({"model": model, "llama_cpp": version, "n_ctx": self.context_tokens,
                           "options": options}, sort_keys=True, default=str)

    def _split_tokens(self, prefix: PrefixPrompt, suffix: str) -> tuple[list[int], list[int]]:
        """The templated prompt of ``prefix.messages(suffix)`` as prefix tokens and suffix tokens.

        The template is rendered once with a marker between the prefix and the suffix, and the two sides
        are tokenized separately: the prefix tokens are then the same for every suffix."""
        llm = self.load()
        marker = "\u0000PREFIX-END\u0000"
        messages = prefix.messages(marker + suffix)
        if self._formatter is None:
            text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant: "
            add_bos = True
        else:
            result = self._formatter(messages=_messages_payload(messages))
            text, add_bos = result.prompt, not result.added_special
        head, _, tail = text.partition(marker)
        key = (head, add_bos)
        cached = self._prefix_tokens.get(key)
        if cached is None:
            cached = llm.tokenize(head.encode("utf-8"), add_bos=add_bos, special=True)
            self._prefix_tokens = {key: cached}  # one prefix at a time: the windows' texts are large
        return list(cached), llm.tokenize(tail.encode("utf-8"), add_bos=False, special=True)

    def _hold_prefix(self, llm: Any, tokens: list[int], state: Path | None) -> int:
        """Make the KV cache hold exactly ``tokens`` first: kept, restored from ``state``, or evaluated.
        Returns the number of prefix tokens evaluated (0 when kept or restored)."""
        n = len(tokens)
        if llm.n_tokens >= n and list(llm.input_ids[:n]) == tokens:
            llm.n_tokens = n
            return 0
        llm.reset()
        llm._ctx.kv_cache_clear()
        if state is not None and state.is_file() and self._restore(llm, tokens, state):
            return 0
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm.eval(tokens)
        return n

    def _restore(self, llm: Any, tokens: list[int], state: Path) -> bool:
        import ctypes

        import llama_cpp

        capacity = self.context_tokens
        out = (llama_cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        read = llama_cpp.llama_state_seq_load_file(llm._ctx.ctx, str(state).encode("utf-8"), 0, out, capacity,
                                                   ctypes.byref(count))
        if not read or list(out[: count.value]) != tokens:
            return False  # unreadable, or saved for other tokens: evaluate instead
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True
        return True

    def save_prefix_state(self, prefix: PrefixPrompt, path: Path) -> dict:
        """Evaluate ``prefix`` and save its KV cache and tokens (not the logits) atomically at ``path``."""

        import llama_cpp

        llm = self.load()
        tokens, _ = self._split_tokens(prefix, "")
        if len(tokens) + 64 >= self.context_tokens:
            raise ModelError(f"The window prefix takes {len(tokens)} tokens but the model's context holds "
                             f"{self.context_tokens}. Lower window_tokens or raise window_context_tokens.")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        if not self._run_lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise ModelError("The llama.cpp model is still busy with another answer; try again shortly.")
        try:
            started = time.perf_counter()
            llm.reset()
            llm._ctx.kv_cache_clear()
            llm.eval(tokens)
            seconds = time.perf_counter() - started
            array = (llama_cpp.llama_token * len(tokens))(*tokens)
            written = llama_cpp.llama_state_seq_save_file(llm._ctx.ctx, str(tmp).encode("utf-8"), 0, array,
                                                          len(tokens))
            if not written:
                raise ModelError(f"llama.cpp could not write the state file {tmp}.")
            os.replace(tmp, path)
        except ChatbotError:
            raise
        except Exception as err:
            raise ModelError(f"The llama.cpp model failed while saving a prefix state: {err}") from err
        finally:
            tmp.unlink(missing_ok=True)
            self._run_lock.release()
        return {"tokens": len(tokens), "bytes": path.stat().st_size, "seconds": seconds}

    def stream_with_prefix(self, prefix: PrefixPrompt, suffix: str, state: Path | None, *,
                           max_tokens: int, stop_below: float = 0.0) -> Iterator[str]:
        llm = self.load()
        head, tail = self._split_tokens(prefix, suffix)
        if len(head) + len(tail) + 1 >= self.context_tokens:
            raise ModelError(f"The prompt takes {len(head) + len(tail)} tokens but the model's context holds "
                             f"{self.context_tokens}. Raise window_context_tokens.")
        return self._run_prefixed(llm, head, tail, state, max_tokens, stop_below)

    def _run_prefixed(self, llm: Any, head: list[int], tail: list[int], state: Path | None,
                      max_tokens: int, stop_below: float) -> Iterator[str]:
        import llama_cpp

        total = len(head) + len(tail)
        recorder = TopTokens(lambda token: token_text(llm, token), stop_below)

        def start() -> tuple[Iterator[dict], int]:
            evaluated = len(tail) + self._hold_prefix(llm, head, state)
            chunks = llm.create_completion(
                prompt=head + tail, max_tokens=max_tokens, stream=True, temperature=self.temperature,
                seed=self.seed, repeat_penalty=1.0, stop=["<|im_end|>", "<|endoftext|>"],
                logits_processor=llama_cpp.LogitsProcessorList([recorder]))
            return chunks, total - evaluated

        return self._timed_stream(start, lambda chunk: chunk["choices"][0].get("text"), total, recorder)

    def yes_probability(self, prefix: PrefixPrompt, suffix: str, state: Path | None) -> float:
        import numpy as np

        llm = self.load()
        head, tail = self._split_tokens(prefix, suffix)
        if not self._run_lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise ModelError("The llama.cpp model is still busy with another answer; try again shortly.")
        try:
            self._hold_prefix(llm, head, state)
            llm.eval(tail)
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),))
            yes = self._word_ids(llm, ("yes", "Yes", "YES", " yes", " Yes"))
            no = self._word_ids(llm, ("no", "No", "NO", " no", " No"))
            top = float(max(logits[yes].max(), logits[no].max()))
            p_yes = float(np.exp(logits[yes] - top).sum())
            p_no = float(np.exp(logits[no] - top).sum())
        except ChatbotError:
            raise
        except Exception as err:
            raise ModelError(f"The llama.cpp model failed while checking answerability: {err}") from err
        finally:
            self._run_lock.release()
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5

    @staticmethod
    def _word_ids(llm: Any, words: Sequence[str]) -> list[int]:
        ids = []
        for w in words:
            toks = llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)
            if len(toks) == 1 and toks[0] not in ids:
                ids.append(toks[0])
        return ids


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):  # up to the shorter one
        if x != y:
            break
        n += 1
    return n
