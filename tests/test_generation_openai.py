"""The OpenAI-compatible backend against a real server: llama-cpp-python's server with SmolLM2-135M."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from generation_fixtures import smol_gguf

from chatbot.errors import ModelError
from chatbot.generation.base import Message
from chatbot.generation.llama_cpp_backend import LlamaCppGenerator
from chatbot.generation.openai_backend import OpenAIGenerator

pytestmark = pytest.mark.model

QUESTION = [Message("system", "You are a helpful assistant. Answer briefly."),
            Message("user", "What is the capital of France?")]
STARTUP_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """``python -m llama_cpp.server`` on a free local port; stopped after the module's tests."""
    pytest.importorskip("sse_starlette", reason="pip install 'llama-cpp-python[server]'")
    model = smol_gguf()
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "512", "--n_threads", "1", "--n_threads_batch", "1",
             "--model_alias", "smol"], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within {STARTUP_TIMEOUT_S} s:\n"
                            f"{log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_streams_the_same_greedy_reply_as_llama_cpp_in_process(server_url):
    gen = OpenAIGenerator(server_url, model="smol")
    pieces = list(gen.stream(QUESTION, max_tokens=12))
    assert len(pieces) > 1 and all(pieces)
    local = LlamaCppGenerator(smol_gguf(), smol_gguf().parent, threads=1, context_tokens=512)
    assert "".join(pieces) == "".join(local.stream(QUESTION, max_tokens=12))
    assert "".join(gen.stream(QUESTION, max_tokens=12)) == "".join(pieces)  # deterministic at temperature 0


def test_max_tokens_is_sent(server_url):
    short = "".join(OpenAIGenerator(server_url).stream(QUESTION, max_tokens=2))
    longer = "".join(OpenAIGenerator(server_url).stream(QUESTION, max_tokens=12))
    assert short and longer.startswith(short) and len(longer) > len(short)


def test_http_error_is_a_model_error_with_the_status(server_url):
    gen = OpenAIGenerator(server_url.replace("/v1", "/nope"))
    with pytest.raises(ModelError, match="answered HTTP 404"):
        list(gen.stream(QUESTION, max_tokens=2))


def test_server_reports_models(server_url):
    with urllib.request.urlopen(f"{server_url}/models", timeout=5) as resp:
        assert "smol" in json.dumps(json.load(resp))
