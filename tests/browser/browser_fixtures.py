"""Helpers for the browser tests: headless Debian Chromium, an in-process Gradio server, page actions.

Chromium comes from Debian (``apt-get install -y chromium``), not from ``playwright install``; tests
that need it skip with the reason when it is missing.
"""

from __future__ import annotations

import importlib
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"


def app_module():
    """``chatbot.web.app``, imported on first use (it loads gradio)."""
    return importlib.import_module("chatbot.web.app")


def chromium_path() -> str:
    """The browser binary, or a skip that says how to install it."""
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        pytest.skip(
            "Debian's chromium is not installed: run `apt-get install -y chromium` "
            "(or `bash scripts/setup.sh --browser`)"
        )
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(pipeline, **create_kwargs) -> Iterator[str]:
    """Launch ``create_app(pipeline)`` on a free localhost port in this process; yield its URL."""
    demo = app_module().create_app(pipeline, **create_kwargs)
    _, url, _ = demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True
    )
    try:
        yield url
    finally:
        demo.close()


@contextmanager
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed in .venv")
    executable = chromium_path()
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_app(context, url: str, timeout_ms: int = 30_000):
    """A page on the app, ready: the status line has left its loading state."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(
        "() => { const s = document.querySelector('#status .status-line');"
        " return s && !s.textContent.includes('Loading'); }",
        timeout=timeout_ms,
    )
    return page


def ask(page, question: str, timeout_ms: int = 30_000) -> None:
    """Type a question, send it, and wait until its final answer (or error) is in the chat."""
    before = page.locator("#chat .answer:not(.pending)").count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('#chat .answer:not(.pending)').length > n",
        arg=before,
        timeout=timeout_ms,
    )


def last_answer(page):
    return page.locator("#chat .answer:not(.pending)").last
