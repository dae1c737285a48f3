"""``chatbot doctor``: is this machine's build able to answer, and how fast can it be?

It prints, in order: the CPU and its SIMD features; the llama-cpp-python build (for which CPU, with AMX
or not); llama.cpp's system info and the buffer types it puts the weights in; the model file, its size
and whether its sha256 checks; the index state; and a ~10-second measurement of prompt and decode
tokens/s beside this CPU's memory-bandwidth limit for the model (see ``generation.hardware``).

The model is loaded and measured in a child process (``generation.probe``), so a build that crashes
(AMX kernels on a virtualised host, an instruction this CPU lacks) is diagnosed here, with the signal,
instead of at the first question. ``scripts/setup.sh`` runs this once at the end; a problem makes the
exit code 1. Nothing here changes a file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from chatbot.config import Config
from chatbot.errors import ChatbotError
from chatbot.generation.hardware import cpu_info, decode_limit, measure_read_bandwidth
from chatbot.generation.supervised import describe_exit
from chatbot.generation.tuning import Tuning, answer_seconds, build_info, resolve_repack, save_tuning

Print = Callable[[str], None]


def _model_path(config: Config) -> Path:
    kind, _, rest = config.generator.partition(":")
    if kind == "llama-cpp" and rest:
        return Path(rest).expanduser()
    from chatbot.generation.model_files import bundled_model_path

    return bundled_model_path(config.cache_dir, progress=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def index_state(config: Config) -> str:
    """One line: missing, corrupt, stale (and why) or up to date, with its size."""
    from chatbot.ingest.corpus import corpus_hash, load_corpus
    from chatbot.search.store import has_index, load_index

    folder = Path(config.index_dir)
    if not has_index(folder):
        return f"missing in {folder}/ (it is built on first use, or by `chatbot index`)"
    try:
        stored = load_index(folder)
    except ChatbotError as err:
        return f"corrupt: {err}"
    m = stored.manifest
    try:
        articles = load_corpus(Path(config.corpus_dir)).articles
        fresh = corpus_hash(articles) == m.corpus_hash and len(articles) == m.n_articles
    except ChatbotError as err:
        return f"{m.n_chunks} passages from {m.n_articles} articles, but the corpus cannot be read: {err}"
    state = "up to date" if fresh else "stale: the corpus changed since it was built (rebuilt on next use)"
    embedder = "" if m.embedder == config.embedder else f"; built with {m.embedder}, not {config.embedder}"
    return (f"{m.n_chunks} passages from {m.n_articles} articles, {m.embedder}, built {m.created_at}: "
            f"{state}{embedder}")


def run_probe(model: Path, threads: int, seconds: float, *, repack: bool = True) -> tuple[dict | None, str]:
    """The probe's result, or None and why it failed (with the signal, for a crash)."""
    proc = subprocess.run([sys.executable, "-m", "chatbot.generation.probe", str(model), "--threads",
                           str(threads), "--seconds", str(seconds), *(() if repack else ("--no-repack",))],
                          capture_output=True, text=True, check=False, timeout=600)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("PROBE ")), None)
    if proc.returncode == 0 and line:
        return json.loads(line[6:]), ""
    tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
    return None, f"llama.cpp stopped with {describe_exit(proc.returncode)}" + (f":\n{tail}" if tail else "")


def doctor(config: Config, *, seconds: float = 10.0, tune: bool = False, out: Print = print) -> int:
    """Print the diagnosis; 0 when everything checks, 1 when something will fail or is wrong.

    With ``tune``, the speed is measured with llama.cpp's repack buffers on and off (``seconds`` each),
    and the faster is recorded for ``Config.llama_repack = "auto"`` / ``--llama-repack auto`` (see
    ``generation.tuning``); the default stays "on", so answers do not depend on the measurement.
    """
    problems: list[str] = []
    cpu = cpu_info()
    out(f"CPU:        {cpu.model}{' (virtual machine)' if cpu.hypervisor else ''}, {config.threads} threads")
    out(f"SIMD:       {' '.join(cpu.simd) or 'none found'}")

    build = build_info()
    if build is None:
        out("llama.cpp:  llama-cpp-python was not installed by scripts/build_llama.sh (its CPU is unknown)")
    else:
        same = build.cpu_fingerprint == cpu.fingerprint
        out(f"llama.cpp:  built for {build.cpu or 'an unknown CPU'} "
            f"({'this CPU' if same else 'ANOTHER CPU'}), build {build.key}")
        out(f"            {build.cmake_args}")
        if not same:
            problems.append("llama-cpp-python was compiled on another CPU; run scripts/setup.sh again "
                            "(it builds one for this CPU).")

    try:
        model = _model_path(config)
    except ChatbotError as err:
        model = None
        problems.append(str(err))
        out(f"model:      {err}")
    if model is not None:
        if not model.is_file():
            problems.append(f"The model file {model} does not exist.")
            out(f"model:      {model}: missing")
        else:
            size = model.stat().st_size
            from chatbot.generation.model_files import BUNDLED

            if model.name == BUNDLED.filename:
                ok = size == BUNDLED.size and _sha256(model) == BUNDLED.sha256
                check = "sha256 checks" if ok else "sha256 DOES NOT MATCH the pinned hash"
                if not ok:
                    problems.append(f"The model file {model} is corrupt; delete it and run scripts/setup.sh.")
            else:
                check = f"sha256 {_sha256(model)[:16]}… (not a bundled file: nothing to check against)"
            out(f"model:      {model} ({size / 1e6:,.0f} MB), {check}")

    out(f"index:      {index_state(config)}")

    if model is None or not model.is_file():
        return _verdict(problems, out)
    repack = resolve_repack(config.llama_repack, config.cache_dir, build.key if build else None)
    choices = (True, False) if tune else (repack,)
    results: dict[bool, dict] = {}
    for choice in choices:
        out(f"measuring:  loading the model in a child process (repack {'on' if choice else 'off'}), "
            f"then ~{seconds:.0f} s of prompt and decode…")
        result, failure = run_probe(model, config.threads, seconds, repack=choice)
        if result is None:
            problems.append(f"The model cannot run with this build: {failure}. "
                            "Run scripts/setup.sh again to rebuild llama-cpp-python for this CPU.")
            out(f"llama.cpp:  FAILED: {failure}")
            return _verdict(problems, out)
        results[choice] = result
    if tune:
        on, off = (answer_seconds(results[c]["prompt_tps"], results[c]["decode_tps"]) for c in (True, False))
        for choice, label, cost in ((True, "on ", on), (False, "off", off)):
            r = results[choice]
            out(f"repack {label}: prompt {r['prompt_tps']:.0f} tokens/s, "
                f"decode {r['decode_tps']:.1f} tokens/s, a typical answer {cost:.1f} s")
        faster = on <= off
        if build is not None:
            path = save_tuning(config.cache_dir, Tuning(build.key, faster, on, off))
            out(f"tuned:      repack {'on' if faster else 'off'} is faster here; recorded in {path} "
                f"(used with --llama-repack auto)")
            repack = resolve_repack(config.llama_repack, config.cache_dir, build.key)
    result = results[repack]  # what the app loads with this configuration
    out(f"system:     {result['system_info']}")
    buffers = ", ".join(f"{k} {v:,.0f} MiB" for k, v in result["buffers_mib"].items()) or "not reported"
    out(f"buffers:    {buffers}")
    if any("AMX" in k for k in result["buffers_mib"]):
        problems.append("The weights are in an AMX buffer, whose kernels crash on some virtualised hosts; "
                        "rebuild with scripts/build_llama.sh (it switches AMX off).")
    bandwidth = measure_read_bandwidth(config.threads)
    limit = decode_limit(bandwidth, model.stat().st_size)
    share = result["decode_tps"] / limit
    out(f"load:       {result['load_s']:.1f} s (repack {'on' if repack else 'off'})")
    out(f"prompt:     {result['prompt_tps']:.0f} tokens/s")
    out(f"decode:     {result['decode_tps']:.1f} tokens/s = {share:.0%} of this CPU's limit for the model, "
        f"{limit:.1f} tokens/s ({bandwidth.gb_per_s:.1f} GB/s read with {bandwidth.threads} threads / "
        f"{model.stat().st_size / 1e9:.2f} GB per token)")
    return _verdict(problems, out)


def _verdict(problems: list[str], out: Print) -> int:
    if not problems:
        out("verdict:    OK")
        return 0
    for p in problems:
        out(f"PROBLEM:    {p}")
    return 1
