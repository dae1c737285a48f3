"""The llama.cpp load option measured fastest on this CPU, remembered per CPU and build.

Whether llama.cpp's CPU repack buffers help depends on the CPU (on one AVX-512 Sapphire Rapids host they
made prompt reading slower; see bench/README.md). ``chatbot doctor --tune`` (run once by setup) measures
both and records the faster one in ``<cache_dir>/tuning/<cpu fingerprint>.json``; with
``Config.llama_repack = "auto"`` the llama.cpp backend reads it. A record made for another build is
ignored, and so is a missing or unreadable one: then repacking stays on, llama.cpp's own default.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from chatbot.fileio import atomic_write_json
from chatbot.generation.hardware import cpu_info

# What a typical answer costs, to weigh prompt against decode speed: the eval's median prompt and answer
# in passage mode, rounded (prompt tokens: docs/experiments.md, *Latency*).
# time = PROMPT / prompt_tps + ANSWER / decode_tps.
TYPICAL_PROMPT_TOKENS = 1000
TYPICAL_ANSWER_TOKENS = 60


@dataclass(frozen=True)
class Tuning:
    build: str  # the llama-cpp-python build key it was measured with
    repack: bool
    seconds_on: float  # the typical answer's model time with repacking on, and off
    seconds_off: float


@dataclass(frozen=True)
class BuildInfo:
    """What scripts/build_llama.sh recorded beside the installed llama_cpp package."""

    key: str
    cpu: str
    cpu_fingerprint: str
    cmake_args: str


def build_info() -> BuildInfo | None:
    """The record of the installed build; None when llama-cpp-python is missing or was built otherwise."""
    try:
        dist = importlib.metadata.distribution("llama-cpp-python")
        data = json.loads(Path(str(dist.locate_file("llama_cpp/cpu-build.json"))).read_text())
        return BuildInfo(str(data["key"]), str(data["cpu"]), str(data["cpu_fingerprint"]),
                         str(data["cmake_args"]))
    except (importlib.metadata.PackageNotFoundError, OSError, ValueError, KeyError, TypeError):
        return None


def answer_seconds(prompt_tps: float, decode_tps: float) -> float:
    return TYPICAL_PROMPT_TOKENS / prompt_tps + TYPICAL_ANSWER_TOKENS / decode_tps


def tuning_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / "tuning" / f"{cpu_info().fingerprint}.json"


def load_tuning(cache_dir: Path, build: str) -> Tuning | None:
    try:
        data = json.loads(tuning_path(cache_dir).read_text())
        tuning = Tuning(str(data["build"]), bool(data["repack"]), float(data["seconds_on"]),
                        float(data["seconds_off"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return tuning if tuning.build == build else None


def save_tuning(cache_dir: Path, tuning: Tuning) -> Path:
    path = tuning_path(cache_dir)
    atomic_write_json(path, asdict(tuning))
    return path


def resolve_repack(setting: str, cache_dir: Path, build: str | None) -> bool:
    """``Config.llama_repack`` ("auto", "on" or "off") as the value to load the model with."""
    if setting == "on":
        return True
    if setting == "off":
        return False
    tuning = load_tuning(cache_dir, build) if build else None
    return True if tuning is None else tuning.repack
