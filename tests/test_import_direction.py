"""The stages import downwards only: ingest <- search <- answer <- web, with the pipeline above them all;
the model backends (``chatbot/generation``) import none of them.

Each module under ``chatbot/ingest``, ``chatbot/search`` and ``chatbot/answer`` is parsed (not imported) and
every module it imports is checked against the stages above it: absolute and relative imports, imports
inside functions, and ``importlib.import_module("...")`` with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "chatbot"

# stage -> the modules it must not import (nor anything below them)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "ingest": ("chatbot.search", "chatbot.answer", "chatbot.web", "chatbot.pipeline"),
    "search": ("chatbot.answer", "chatbot.web", "chatbot.pipeline"),
    "answer": ("chatbot.web",),
    # the model backends know nothing of the stages that use them
    "generation": ("chatbot.ingest", "chatbot.search", "chatbot.answer", "chatbot.web", "chatbot.pipeline",
                   "chatbot.evaluation"),
}
IMPORT_FUNCTIONS = ("import_module", "__import__")


def imported_names(source: str, package: str) -> set[str]:
    """Every module name ``source`` (a module of ``package``) imports; ``from a import b`` gives a and a.b."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ``from ..answer import x`` inside chatbot.search -> chatbot.answer
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in IMPORT_FUNCTIONS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def violations(source: str, package: str, forbidden: tuple[str, ...]) -> list[str]:
    """The imports in ``source`` of a forbidden module or of anything inside one, sorted."""
    return sorted(
        name
        for name in imported_names(source, package)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def stage_modules(stage: str) -> list[Path]:
    return sorted((PACKAGE / stage).rglob("*.py"))


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_a_stage_imports_no_higher_stage(stage):
    modules = stage_modules(stage)
    assert modules, f"no modules under chatbot/{stage}"
    found = {}
    for path in modules:
        package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
        bad = violations(path.read_text("utf-8"), package, FORBIDDEN[stage])
        if bad:
            found[str(path.relative_to(PACKAGE.parent))] = bad
    assert not found, f"chatbot/{stage} imports a higher stage: {found}"


@pytest.mark.parametrize(
    ("source", "package", "stage", "expected"),
    [
        ("from chatbot.answer.prompting import strip_citations\n", "chatbot.search", "search",
         ["chatbot.answer.prompting", "chatbot.answer.prompting.strip_citations"]),
        ("from chatbot import pipeline\n", "chatbot.ingest", "ingest", ["chatbot.pipeline"]),
        ("def f():\n    import chatbot.web.app\n", "chatbot.answer", "answer", ["chatbot.web.app"]),
        ("from ..answer import citations\n", "chatbot.search", "search",
         ["chatbot.answer", "chatbot.answer.citations"]),
        ("from . import store\n", "chatbot.search", "search", []),
        ("import importlib\nimportlib.import_module('chatbot.search.bm25')\n", "chatbot.ingest", "ingest",
         ["chatbot.search.bm25"]),
        ("from chatbot.ingest.corpus import load_corpus\nfrom chatbot.types import Chunk\n", "chatbot.search",
         "search", []),
        ("from chatbot.search.bm25 import tokenize\n", "chatbot.answer", "answer", []),
        ("import chatbot.searching\n", "chatbot.ingest", "ingest", []),  # a prefix of a name is not a match
    ],
)
def test_the_checker_finds_upward_imports_in_a_synthetic_module(source, package, stage, expected):
    assert violations(source, package, FORBIDDEN[stage]) == expected
