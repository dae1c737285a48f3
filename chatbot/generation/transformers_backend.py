"""Generation with any Hugging Face causal language model through transformers (PyTorch, CPU).

``TransformersGenerator`` takes a hub id or a local folder, optionally with a GGUF file inside it that
transformers dequantizes on load (``gguf_file=``, needs the ``gguf`` package). The tokenizer's chat
template formats the messages; decoding is greedy at temperature 0; the reply streams from a background
thread through ``TextIteratorStreamer``.

It is the flexible, slower alternative to the llama.cpp backend: no KV-cache reuse across calls, and
GGUF weights are expanded to float32 in memory. This module does not download anything by itself
beyond what ``from_pretrained`` does for a hub id (the hub is unreachable offline: use local paths).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError, ModelError
from chatbot.generation.base import Message

INSTALL = "pip install torch==2.13.0 transformers"
INSTALL_GGUF = "pip install gguf"


class TransformersGenerator:
    def __init__(self, model: str, threads: int, gguf_file: str | None = None, temperature: float = 0.0,
                 seed: int = 0) -> None:
        self.model = str(model)
        self.gguf_file = gguf_file
        self.threads = max(1, int(threads))
        self.temperature = float(temperature)
        self.seed = int(seed)
        label = self.model.rstrip("/").split("/")[-1] if Path(self.model).exists() else self.model
        self.name = f"transformers:{label}" + (f"#{Path(gguf_file).name}" if gguf_file else "")
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[Any, Any]:
        """Load tokenizer and model now (otherwise on first use); returns ``(tokenizer, model)``."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
        return self._loaded

    def _load(self) -> tuple[Any, Any]:
        try:
            import torch
            import transformers
        except ImportError as err:
            raise ModelError(f"The transformers generator needs PyTorch and transformers. "
                             f"Install them with: {INSTALL}") from err
        if self.gguf_file is not None:
            try:
                import gguf  # noqa: F401
            except ImportError as err:
                raise ModelError(f"Loading a GGUF file with transformers needs the gguf package. "
                                 f"Install it with: {INSTALL_GGUF}") from err
        torch.set_num_threads(self.threads)
        kwargs: dict[str, Any] = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(self.model, **kwargs)
            model = transformers.AutoModelForCausalLM.from_pretrained(self.model, **kwargs)
        except Exception as err:
            where = f"{self.model}" + (f" (GGUF file {self.gguf_file})" if self.gguf_file else "")
            raise ModelError(f"The transformers model {where} could not be loaded: {err}") from err
        model.eval()
        if tokenizer.chat_template is None:
            raise ModelError(f"The tokenizer of {self.model} has no chat template; use an instruct/chat "
                             "model.")
        return tokenizer, model

    def _encode(self, tokenizer: Any, messages: Sequence[Message]) -> Any:
        return tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        tokenizer, _ = self.load()
        try:
            return int(self._encode(tokenizer, messages)["input_ids"].shape[-1])
        except Exception as err:
            raise ModelError(f"The prompt could not be tokenized: {err}") from err

    def stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        tokenizer, model = self.load()
        try:
            inputs = self._encode(tokenizer, messages)
        except Exception as err:
            raise ModelError(f"The prompt could not be tokenized: {err}") from err
        return self._run(tokenizer, model, inputs, max_tokens)

    def _run(self, tokenizer: Any, model: Any, inputs: Any, max_tokens: int) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": self.temperature} if self.temperature > 0
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None})
        failure: list[BaseException] = []
        stop = threading.Event()

        class _Stop(StoppingCriteria):  # ends generation when the consumer stops reading
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        def work() -> None:
            try:
                if self.temperature > 0:
                    torch.manual_seed(self.seed)
                with torch.inference_mode():
                    model.generate(**inputs, max_new_tokens=max_tokens, streamer=streamer,
                                   pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                                   stopping_criteria=StoppingCriteriaList([_Stop()]), **sampling)
            except Exception as err:  # noqa: BLE001 - re-raised in the consumer thread below
                failure.append(err)
                streamer.on_finalized_text("", stream_end=True)

        thread = threading.Thread(target=work, name="transformers-generate", daemon=True)
        thread.start()
        try:
            for text in streamer:
                if text:
                    yield text
        except ChatbotError:
            raise
        except Exception as err:
            raise ModelError(f"The transformers model failed while generating: {err}") from err
        finally:
            stop.set()
            thread.join()
        if failure:
            raise ModelError(f"The transformers model failed while generating: {failure[0]}") from failure[0]
