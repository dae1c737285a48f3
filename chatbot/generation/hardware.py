"""What this CPU is and how fast it can read memory: the ceiling for decoding on it.

Decoding one token reads every weight of the model once (Qwen2.5's tied embedding table included, as the
output layer), so on a CPU the decode rate cannot exceed ``read bandwidth / model bytes``.
``measure_read_bandwidth`` measures that bandwidth with the same number of threads the model uses, by
summing a buffer far larger than the last-level cache; ``decode_limit`` turns it into tokens/s.

Used by ``chatbot doctor``, ``bench/generation_bench.py`` and ``scripts/build_llama.sh`` (the CPU
fingerprint that keys its wheel cache, so this module needs only the standard library until a
bandwidth is measured). Nothing here loads a model.
"""

from __future__ import annotations

import hashlib
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The SIMD features worth naming for llama.cpp on x86 and ARM, in the order they are printed.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
              "asimd", "sve", "i8mm")


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset[str]
    hypervisor: bool

    @property
    def simd(self) -> tuple[str, ...]:
        return tuple(f for f in SIMD_FLAGS if f in self.flags)

    @property
    def has_amx(self) -> bool:
        return "amx_int8" in self.flags or "amx_tile" in self.flags

    @property
    def fingerprint(self) -> str:
        """Model and flags, hashed: two machines with the same fingerprint run the same native build."""
        text = self.model + "\n" + " ".join(sorted(self.flags))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """The CPU's model name and feature flags (from /proc/cpuinfo on Linux)."""
    model, flags = "", frozenset[str]()
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "Hardware") and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
    return CpuInfo(model or platform.processor() or platform.machine() or "unknown CPU", flags,
                   "hypervisor" in flags)


@dataclass(frozen=True)
class Bandwidth:
    gb_per_s: float  # 1e9 bytes per second, the best of the repeats
    threads: int
    buffer_mb: int


def measure_read_bandwidth(threads: int, buffer_mb: int = 1024, seconds: float = 2.0) -> Bandwidth:
    """Read bandwidth with ``threads`` threads, each summing its share of one large buffer.

    numpy releases the GIL inside the sum, so the threads read in parallel. The best pass counts: it is
    the ceiling, and slower passes only measure interference from elsewhere on the machine.
    """
    import numpy as np

    threads = max(1, int(threads))
    n = buffer_mb * 1024 * 1024 // 8
    data = np.ones(n, dtype=np.int64)  # written once, so its pages are really in memory
    parts = np.array_split(data, threads)
    best = 0.0
    deadline = time.perf_counter() + seconds
    passes = 0
    while passes < 3 or time.perf_counter() < deadline:
        barrier = threading.Barrier(threads + 1)
        workers = [threading.Thread(target=_read, args=(p, barrier)) for p in parts]
        for w in workers:
            w.start()
        barrier.wait()
        started = time.perf_counter()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        best = max(best, data.nbytes / elapsed / 1e9)
        passes += 1
        if passes >= 50:
            break
    return Bandwidth(best, threads, buffer_mb)


def _read(part, barrier: threading.Barrier) -> None:
    barrier.wait()
    part.sum()


def decode_limit(bandwidth: Bandwidth, model_bytes: int) -> float:
    """The most tokens/s a decoder that reads ``model_bytes`` per token can reach at this bandwidth."""
    return bandwidth.gb_per_s * 1e9 / model_bytes
