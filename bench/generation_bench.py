"""Generation benchmark for the bundled model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) on this machine.

    .venv/bin/python bench/generation_bench.py [--threads 2] [--repeats 2] [--variants default flash ...]

Measures, and prints as Markdown tables:
- the CPU it ran on, the llama-cpp-python build, and this CPU's read bandwidth with the model's thread
  count, measured in the same run: ``bandwidth / model bytes`` is the most decode tokens/s any CPU
  engine can reach here, so decode speed is reported as a share of that limit;
- prompt and decode tokens/s from ``chatbot.generation.probe`` (the same measurement ``chatbot doctor``
  prints), for each build option under ``--probe-options``;
- the supervised model process's cost: time to first token through ``SupervisedGenerator`` against the
  same prompts in-process, in the same order (both reuse their KV cache the same way);
- assembly time of the GGUF from its 22 part packages (only when the cache does not hold it yet) and the
  start-up check once it is assembled (stamp file, no hashing);
- model load time, in a fresh process per settings variant;
- time to first token (p50/p95) over 5 typical RAG prompts of ~350-450 prompt tokens (Indonesian
  passages from corpus/ and a question, built with the project's own prompt templates), once with an
  empty KV cache ("cold") and once right after another question in the same language ("warm": the
  system prompt and the passage header are reused from llama.cpp's prefix cache);
- decode speed in tokens/s and the peak resident memory of the process.

Every variant runs in its own subprocess ``--repeats`` times; the tables show the best and the median
run, because other work on the machine makes single runs noisy. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatbot.config import Config, default_cache_dir
from chatbot.doctor import run_probe
from chatbot.generation.base import Message
from chatbot.generation.hardware import cpu_info, decode_limit, measure_read_bandwidth
from chatbot.generation.model_files import BUNDLED, bundled_model_path, stamp_path
from chatbot.generation.tuning import build_info, resolve_repack
from chatbot.ingest.corpus import load_corpus
from chatbot.types import Chunk, Hit, Language

GGML_TYPE_Q8_0 = 8

VARIANTS: dict[str, dict] = {
    "default": {},  # the backend's defaults: n_batch=n_ubatch=256, mmap, no flash attention
    "batch512": {"n_batch": 512, "n_ubatch": 512},
    "flash": {"flash_attn": True},
    "flash+kv-q8": {"flash_attn": True, "type_k": GGML_TYPE_Q8_0, "type_v": GGML_TYPE_Q8_0},
    "no-mmap": {"use_mmap": False},
}

# (question, language, keywords that pick the passages)
PROMPTS: list[tuple[str, Language, tuple[str, ...]]] = [
    ("Berapa negara yang menandatangani Konvensi Hanoi?", "id", ("negara", "menandatangani", "72")),
    ("Who is Artur Liukmanov?", "en", ("Liukmanov", "Rusia", "Direktur")),
    ("Siapa ketua komite negosiasi konvensi?", "id", ("ketua", "komite", "negosiasi")),
    ("What did the UN Secretary-General say at the ceremony?", "en", ("Guterres", "Sekretaris", "PBB")),
    ("Kapan upacara penandatanganan diadakan?", "id", ("Oktober", "upacara", "penandatanganan")),
]
MIN_TOKENS, MAX_TOKENS = 350, 450


def paragraphs() -> list[Chunk]:
    out = []
    for article in load_corpus(REPO / "corpus").articles:
        for i, para in enumerate(p for p in article.text.split("\n") if len(p) > 120):
            out.append(Chunk(f"{article.article_id}:{i}", article.article_id, article.title, article.url,
                             article.publisher, para, 0, len(para)))
    return out


def build_prompt(gen, question: str, language: Language, keywords: tuple[str, ...], paras: list[Chunk]):
    """Messages with the best keyword-matching paragraphs, grown until the prompt has 350-450 tokens."""
    from chatbot.answer.prompting import build_messages

    def score(c: Chunk) -> int:
        return sum(c.text.lower().count(k.lower()) for k in keywords)

    ranked = sorted(paras, key=score, reverse=True)
    hits: list[Hit] = []
    for chunk in ranked:
        trial = hits + [Hit(chunk, 1.0, len(hits) + 1)]
        n = gen.count_tokens(build_messages(question, trial, language))
        if n > MAX_TOKENS:
            continue
        hits = trial
        if n >= MIN_TOKENS:
            break
    messages = build_messages(question, hits, language)
    return messages, gen.count_tokens(messages)


def run_variant(name: str, threads: int, max_tokens: int) -> dict:
    """One fresh process: load, cold and warm TTFT over the prompts, decode speed, peak RSS."""
    from chatbot.generation.llama_cpp_backend import LlamaCppGenerator

    build = build_info()
    # as the app loads
    repack = resolve_repack(Config().llama_repack, default_cache_dir(), build.key if build else None)
    gen = LlamaCppGenerator(None, default_cache_dir(), threads=threads, repack=repack, options=VARIANTS[name],
                            progress=False)
    started = time.perf_counter()
    llm = gen.load()
    load_s = time.perf_counter() - started
    paras = paragraphs()
    prompts = [build_prompt(gen, q, lang, kw, paras) for q, lang, kw in PROMPTS]

    cold, warm, decode_tokens, decode_s, cached = [], [], 0, 0.0, []
    replies = []
    for messages, _ in prompts:
        llm.reset()  # empty KV cache: nothing reused
        reply = "".join(gen.stream(messages, max_tokens=max_tokens))
        stats = gen.last_stats
        cold.append(stats.first_token_s)
        if stats.completion_pieces > 1:
            decode_tokens += stats.completion_pieces - 1
            decode_s += stats.total_s - stats.first_token_s
        replies.append(reply)
    for lang in ("id", "en"):  # questions in one language in a row: the system prompt stays cached
        llm.reset()
        for i, (messages, _) in enumerate(prompts):
            if PROMPTS[i][1] != lang:
                continue
            for _ in gen.stream(messages, max_tokens=1):
                pass
            if gen.last_stats.cached_tokens:
                warm.append(gen.last_stats.first_token_s)
                cached.append(gen.last_stats.cached_tokens)
    # A long answer for a steadier decode rate.
    llm.reset()
    system, user = prompts[1][0]
    long_messages = [system, Message("user", user.content + "\nExplain in detail, in at least 150 words.")]
    for _ in gen.stream(long_messages, max_tokens=160):
        pass
    s = gen.last_stats
    long_rate = (s.completion_pieces - 1) / (s.total_s - s.first_token_s) if s.completion_pieces > 1 else None
    return {
        "variant": name, "load_s": load_s,
        "prompt_tokens": [n for _, n in prompts],
        "ttft_cold": cold, "ttft_warm": warm, "cached_tokens": cached,
        "decode_tps": decode_tokens / decode_s if decode_s else None,
        "decode_tps_long": long_rate, "long_tokens": s.completion_pieces,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "replies": replies,
    }


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def assembly_row(cache_dir: Path) -> str:
    target = cache_dir / "models" / BUNDLED.filename
    if target.is_file() and stamp_path(target).is_file():
        started = time.perf_counter()
        bundled_model_path(cache_dir, progress=False)
        return (f"already assembled in {target.parent}; start-up check (stamp, no hashing): "
                f"{(time.perf_counter() - started) * 1000:.1f} ms")
    started = time.perf_counter()
    bundled_model_path(cache_dir, progress=True)
    assembled = time.perf_counter() - started
    started = time.perf_counter()
    bundled_model_path(cache_dir, progress=False)
    return (f"assembled in {assembled:.1f} s (join + sha256); later start-up check "
            f"{(time.perf_counter() - started) * 1000:.1f} ms")


def ttft_sequence(gen, prompts: list, max_tokens: int = 1) -> list[float]:
    """Time to first piece for each prompt in order, as the caller sees it (KV cache kept between them)."""
    out = []
    for messages in prompts:
        started = time.perf_counter()
        for _ in gen.stream(messages, max_tokens=max_tokens):
            out.append(time.perf_counter() - started)
            break
    return out


def run_overhead(threads: int, rounds: int = 2) -> dict:
    """TTFT in-process and through the supervised child, both loaded first, alternating round by round over
    the same prompts in the same order (five different ones, then the last one three times more: fully
    cached prompts, where only the per-call cost is left)."""
    from chatbot.generation.llama_cpp_backend import LlamaCppGenerator
    from chatbot.generation.supervised import SupervisedGenerator

    build = build_info()
    # as the child loads
    repack = resolve_repack(Config().llama_repack, default_cache_dir(), build.key if build else None)
    local = LlamaCppGenerator(None, default_cache_dir(), threads=threads, repack=repack, progress=False)
    paras = paragraphs()
    prompts = [build_prompt(local, q, lang, kw, paras)[0] for q, lang, kw in PROMPTS]
    sequence = prompts + [prompts[-1]] * 3
    supervised = SupervisedGenerator("llama-cpp", Config(threads=threads))
    supervised.count_tokens(prompts[0])  # start the child and load its model before timing
    out: dict[str, list[float]] = {"in_process": [], "supervised": []}
    try:
        for _ in range(rounds):
            out["in_process"] += ttft_sequence(local, sequence)
            out["supervised"] += ttft_sequence(supervised, sequence)
    finally:
        supervised.close()
    out["repeated"] = [i for i in range(len(out["in_process"])) if i % len(sequence) >= len(prompts)]
    return out


def environment_lines(threads: int) -> tuple[list[str], float]:
    """The CPU, the build and the bandwidth limit; returns the lines and the limit in tokens/s."""
    cpu = cpu_info()
    build = build_info()
    bandwidth = measure_read_bandwidth(threads)
    limit = decode_limit(bandwidth, BUNDLED.size)
    lines = [
        f"CPU: {cpu.model}{' (virtual machine)' if cpu.hypervisor else ''}; SIMD: {' '.join(cpu.simd)}",
        f"llama-cpp-python build: {build.cmake_args if build else 'not built by scripts/build_llama.sh'}",
        (f"Read bandwidth, {threads} threads: {bandwidth.gb_per_s:.1f} GB/s -> decode limit for the "
         f"{BUNDLED.size / 1e9:.2f} GB model: {limit:.1f} tokens/s"),
    ]
    return lines, limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--variants", nargs="+", default=["default"], choices=list(VARIANTS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one variant, print JSON
    parser.add_argument("--show-replies", action="store_true")
    parser.add_argument("--probe-seconds", type=float, default=10.0)
    parser.add_argument("--skip-overhead", action="store_true", help="skip the supervised-process TTFT table")
    parser.add_argument("--skip-ttft", action="store_true", help="skip the per-variant TTFT table")
    args = parser.parse_args()
    if args.one == "overhead":
        print("RESULT " + json.dumps(run_overhead(args.threads)))
        return
    if args.one:
        print("RESULT " + json.dumps(run_variant(args.one, args.threads, args.max_tokens)))
        return

    cache_dir = default_cache_dir()
    print(f"# Generation benchmark: {BUNDLED.filename}, {args.threads} threads\n")
    print(f"Model file: {assembly_row(cache_dir)}\n")
    lines, limit = environment_lines(args.threads)
    print("\n".join(f"- {x}" for x in lines) + "\n")

    model = bundled_model_path(cache_dir, progress=False)
    print("| measurement | prompt tok/s | decode tok/s | decode, share of the bandwidth limit | weights in |")
    print("|---|---|---|---|---|")
    for rep in range(args.repeats):
        for repack in (True, False):  # interleaved, so drift on the machine hits both alike
            result, failure = run_probe(model, args.threads, args.probe_seconds, repack=repack)
            label = f"probe run {rep + 1}, repack {'on' if repack else 'off'}"
            if result is None:
                print(f"| {label} | failed: {failure.splitlines()[0]} | | | |")
                continue
            buffers = ", ".join(f"{k} {v:.0f} MiB" for k, v in result["buffers_mib"].items())
            print(f"| {label} | {result['prompt_tps']:.0f} | {result['decode_tps']:.1f} "
                  f"| {result['decode_tps'] / limit:.0%} | {buffers} |")
    print()

    if not args.skip_overhead:
        proc = subprocess.run([sys.executable, __file__, "--one", "overhead", "--threads", str(args.threads)],
                              capture_output=True, text=True, check=False)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"overhead run failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        else:
            o = json.loads(line[7:])
            deltas = [(b - a) * 1000 for a, b in zip(o["in_process"], o["supervised"], strict=True)]
            cached = [deltas[i] for i in o["repeated"]]
            print("| TTFT, the same prompts in the same order, alternating | p50 s | max s |")
            print("|---|---|---|")
            for key in ("in_process", "supervised"):
                print(f"| {key.replace('_', '-')} | {pct(o[key], 0.5):.3f} | {max(o[key]):.3f} |")
            print(f"\nSupervised minus in-process, per prompt: median {statistics.median(deltas):+.0f} ms "
                  f"over {len(deltas)} prompts; on fully cached prompts (only the per-call cost left) median "
                  f"{statistics.median(cached):+.0f} ms over {len(cached)}\n")
    if args.skip_ttft:
        return
    runs: dict[str, list[dict]] = {}
    for rep in range(args.repeats):
        for name in args.variants:
            proc = subprocess.run([sys.executable, __file__, "--one", name, "--threads", str(args.threads),
                                   "--max-tokens", str(args.max_tokens)], capture_output=True, text=True,
                                  check=False)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(f"variant {name} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            runs.setdefault(name, []).append(json.loads(line[7:]))
            print(f"  run {rep + 1}/{args.repeats} {name} done", file=sys.stderr)

    print("| variant | runs | load s (best / median) | prompt tokens | TTFT cold p50 s (best / median) "
          "| TTFT cold p95 s | TTFT warm p50 s | reused prefix tokens | decode tok/s (best / median) "
          "| decode tok/s, 160-token answer | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, results in runs.items():
        def both(values: list[float], fmt: str = "{:.2f}", best=min) -> str:
            return f"{fmt.format(best(values))} / {fmt.format(statistics.median(values))}"

        tokens = results[0]["prompt_tokens"]
        print(f"| {name} | {len(results)} | {both([r['load_s'] for r in results])} "
              f"| {min(tokens)}-{max(tokens)} "
              f"| {both([pct(r['ttft_cold'], 0.5) for r in results])} "
              f"| {both([pct(r['ttft_cold'], 0.95) for r in results])} "
              f"| {both([pct(r['ttft_warm'], 0.5) for r in results])} "
              f"| {int(statistics.median(results[0]['cached_tokens']))} "
              f"| {both([r['decode_tps'] for r in results], '{:.1f}', max)} "
              f"| {both([r['decode_tps_long'] for r in results], '{:.1f}', max)} "
              f"| {both([r['peak_rss_mb'] for r in results], '{:.0f}')} |")
    if args.show_replies:
        for name, results in runs.items():
            print(f"\n{name}:")
            for (q, _, _), reply in zip(PROMPTS, results[0]["replies"], strict=True):
                flat = re.sub(r"\s+", " ", reply)[:200]
                print(f"- {q} -> {flat}")


if __name__ == "__main__":
    main()
