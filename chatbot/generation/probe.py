"""Load a GGUF model with llama.cpp and measure it; run as a child process by ``chatbot doctor``.

    python -m chatbot.generation.probe MODEL.gguf --threads 2 --seconds 10

Prints one line ``PROBE {json}`` with llama.cpp's system info, the buffer types the weights were put in
(from llama.cpp's own load log: "CPU_REPACK model buffer size = ..."), the load time, and prompt and
decode tokens/s measured over about ``--seconds``. It runs in its own process so that a build that
crashes (an AMX kernel on a virtualised host, an instruction this CPU lacks) is diagnosed by the parent
instead of killing it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import re
import sys
import time
from typing import Any

from chatbot.generation.llama_cpp_backend import new_llama

_BUFFER_LINE = re.compile(r"(\S+) model buffer size\s*=\s*([\d.]+) MiB")
_PROMPT_TOKENS = 256


def probe(model_path: str, threads: int, seconds: float, *, repack: bool = True,
          mmap: bool = True) -> dict[str, Any]:
    """``repack=False`` keeps every weight in plain CPU memory (no extra buffer types), for comparison."""
    import llama_cpp

    log: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        log.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    started = time.perf_counter()
    llm = new_llama(repack=repack, model_path=model_path, n_ctx=1024, n_threads=threads,
                    n_threads_batch=threads, n_batch=256, n_ubatch=256, use_mmap=mmap, verbose=True)
    load_s = time.perf_counter() - started
    buffers: dict[str, float] = {}
    for match in _BUFFER_LINE.finditer("".join(log)):
        buffers[match.group(1)] = buffers.get(match.group(1), 0.0) + float(match.group(2))

    text = ("Konvensi PBB tentang Kejahatan Siber ditandatangani di Hanoi oleh puluhan negara. " * 40)
    tokens = llm.tokenize(text.encode("utf-8"))[:_PROMPT_TOKENS]
    budget = seconds / 2
    prompt_runs, prompt_s = 0, 0.0
    while prompt_runs < 1 or prompt_s < budget:  # prompt processing: a 256-token batch, from empty
        llm.reset()
        t = time.perf_counter()
        llm.eval(tokens)
        prompt_s += time.perf_counter() - t
        prompt_runs += 1
    decode_tokens, decode_s = 0, 0.0
    llm.reset()
    llm.eval(tokens[:16])
    token = tokens[16]
    while decode_tokens < 8 or decode_s < budget:  # decode: one token per step, the KV cache growing
        t = time.perf_counter()
        llm.eval([token])
        decode_s += time.perf_counter() - t
        decode_tokens += 1
        if llm.n_tokens >= 1000:
            llm.reset()
            llm.eval(tokens[:16])
    llm.close()
    return {
        "system_info": system_info,
        "buffers_mib": buffers,
        "load_s": load_s,
        "prompt_tps": prompt_runs * len(tokens) / prompt_s,
        "decode_tps": decode_tokens / decode_s,
        "threads": threads,
        "repack": repack,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-repack", action="store_true",
                        help="keep the weights in plain CPU buffers (llama.cpp's use_extra_bufts off)")
    parser.add_argument("--no-mmap", action="store_true",
                        help="read the weights into memory instead of mapping")
    args = parser.parse_args(argv)
    result = probe(args.model, args.threads, args.seconds, repack=not args.no_repack,
                   mmap=not args.no_mmap)
    sys.stdout.write("PROBE " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
