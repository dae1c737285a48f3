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
    """Read bandwidth with ``threads`` threads, each reading its share of one buffer far larger than the
    caches: the best of a small C reader (when a C compiler is here) and numpy sums.

    numpy releases the GIL inside the sum, so its threads read in parallel. The best pass counts: it is
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
    del data, parts
    native = _c_read_bandwidth(threads, buffer_mb)
    return Bandwidth(max(best, native or 0.0), threads, buffer_mb)


_C_READ = r"""
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static uint64_t *data; static size_t n, threads;
static void *reader(void *arg) {
    size_t i = (size_t)arg, lo = n / threads * i, hi = i + 1 == threads ? n : n / threads * (i + 1);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t k = lo; k + 4 <= hi; k += 4) {
        a ^= data[k]; b ^= data[k + 1]; c ^= data[k + 2]; d ^= data[k + 3];
    }
    return (void *)(uintptr_t)(a ^ b ^ c ^ d);
}
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char **argv) {
    threads = (size_t)atoi(argv[1]); n = (size_t)atoll(argv[2]) * 1024 * 1024 / 8;
    data = malloc(n * 8); for (size_t k = 0; k < n; k++) data[k] = k;
    pthread_t t[64]; double best = 0; uintptr_t sink = 0;
    for (int pass = 0; pass < atoi(argv[3]); pass++) {
        double start = now();
        for (size_t i = 0; i < threads; i++) pthread_create(&t[i], 0, reader, (void *)i);
        for (size_t i = 0; i < threads; i++) { void *r; pthread_join(t[i], &r); sink ^= (uintptr_t)r; }
        double rate = n * 8 / (now() - start) / 1e9; if (rate > best) best = rate;
    }
    printf("%f %lu\n", best, (unsigned long)(sink & 1));
    return 0;
}
"""


def _c_read_bandwidth(threads: int, buffer_mb: int, passes: int = 8) -> float | None:
    """The same measurement as a small C program (compiled here with cc), which numpy cannot match:
    numpy's sums stop short of the memory's speed, and a limit measured too low flatters the decoder."""
    import shutil
    import subprocess
    import tempfile

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="chatbot-bw-") as tmp:
        source, binary = Path(tmp) / "read.c", Path(tmp) / "read"
        source.write_text(_C_READ)
        try:
            subprocess.run([cc, "-O3", "-march=native", "-pthread", str(source), "-o", str(binary)],
                           check=True, capture_output=True, timeout=60)
            out = subprocess.run([str(binary), str(min(threads, 64)), str(buffer_mb), str(passes)],
                                 check=True, capture_output=True, text=True, timeout=120).stdout
            return float(out.split()[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None


def _read(part, barrier: threading.Barrier) -> None:
    barrier.wait()
    part.sum()


def decode_limit(bandwidth: Bandwidth, model_bytes: int) -> float:
    """The most tokens/s a decoder that reads ``model_bytes`` per token can reach at this bandwidth."""
    return bandwidth.gb_per_s * 1e9 / model_bytes
