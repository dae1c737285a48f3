"""chatbot/web/app.py without a browser: flags -> Config, the answer handler's yields, errors, and history
per call."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from browser.fake_pipeline import FakePipeline

from chatbot.config import Config
from chatbot.errors import IndexStoreError, ModelError
from chatbot.web import app

REPO = Path(__file__).resolve().parents[1]


def run(handlers: app._Handlers, question: str, answers=(), messages=()):
    """All yields of one ask; each is (chat, messages, answers, sources, notice, box, md, json, session)."""
    return list(handlers.ask(question, tuple(answers), list(messages), ""))


@pytest.fixture
def handlers(tmp_path):
    return app._Handlers(FakePipeline(token_delay_s=0.0), throttle_s=0.0, export_dir=tmp_path)


def test_flags_default_to_localhost_and_no_share():
    args = app.parse_args([])
    assert (args.host, args.port, args.share) == ("127.0.0.1", 7860, False)
    assert args.generator is None and args.top_k is None


def fake_pipeline_module(monkeypatch, from_config) -> None:
    """``chatbot.pipeline`` replaced by a module whose ``Pipeline.from_config`` is ``from_config``."""
    pipeline_cls = type("Pipeline", (), {"from_config": staticmethod(from_config)})
    monkeypatch.setitem(sys.modules, "chatbot.pipeline", types.SimpleNamespace(Pipeline=pipeline_cls))


def test_main_builds_the_config_from_flags_and_prints_the_url(monkeypatch, capsys, tmp_path):
    seen = {}

    class StubDemo:
        def launch(self, **kwargs):
            seen["launch"] = kwargs
            return None, f"http://{kwargs['server_name']}:{kwargs['server_port']}/", None

        def block_thread(self):
            seen["blocked"] = True

        def close(self):
            seen["closed"] = True

    def from_config(config):
        seen["config"] = config
        return FakePipeline(token_delay_s=0.0)

    fake_pipeline_module(monkeypatch, from_config)
    def create_app(pipeline, export_dir):
        seen["export_dir"] = export_dir
        assert export_dir.is_dir() and export_dir.name.startswith("chatbot-export-")
        (export_dir / "s1").mkdir()
        return StubDemo()

    monkeypatch.setattr(app, "create_app", create_app)
    rc = app.main(
        [
            "--generator",
            "fake",
            "--embedder",
            "fake",
            "--top-k",
            "2",
            "--threads",
            "1",
            "--corpus",
            str(tmp_path / "c"),
            "--index",
            str(tmp_path / "i"),
            "--port",
            "7999",
        ]
    )
    assert rc == 0
    assert seen["config"] == Config().with_(
        generator="fake",
        embedder="fake",
        top_k=2,
        threads=1,
        corpus_dir=tmp_path / "c",
        index_dir=tmp_path / "i",
    )
    assert seen["launch"]["server_name"] == "127.0.0.1" and seen["launch"]["share"] is False
    assert seen["blocked"] and seen["closed"]
    assert not seen["export_dir"].exists()  # the export folders go when the server stops
    out = capsys.readouterr().out
    assert "Running on http://127.0.0.1:7999" in out and "3 articles" in out


def test_main_exits_with_the_message_when_the_index_cannot_load(monkeypatch, capsys):
    broken = FakePipeline(info_error=IndexStoreError("The index in index/ is corrupt: run `chatbot index`."))
    fake_pipeline_module(monkeypatch, lambda config: broken)
    monkeypatch.setattr(app, "create_app", lambda pipeline, **kw: pytest.fail("must not serve a broken index"))
    assert app.main([]) == 1
    assert "corrupt" in capsys.readouterr().err


def test_ask_yields_sources_first_then_tokens_then_the_answer(handlers):
    steps = run(handlers, "Berapa negara yang menandatangani Konvensi Hanoi?")
    first, last = steps[0], steps[-1]
    assert "retrieved" in first[3] and "pending" in first[0][-1]["content"]
    assert any("72" in s[0][-1]["content"] and "pending" in s[0][-1]["content"] for s in steps[1:-1])
    answers = last[2]
    assert len(answers) == 1 and answers[0].citations[0].n == 1
    assert 'href="#src-1-1"' in last[0][-1]["content"] and "pending" not in last[0][-1]["content"]
    assert last[1] == last[0]  # the bubbles are remembered for the next turn
    assert Path(last[6]["value"]).read_text("utf-8").startswith("# Conversation")
    assert last[8] and (handlers.export_dir / last[8] / "conversation.json").exists()


def test_throttle_limits_the_number_of_updates(tmp_path):
    fast = app._Handlers(FakePipeline(token_delay_s=0.0), throttle_s=0.0, export_dir=tmp_path)
    slow = app._Handlers(FakePipeline(token_delay_s=0.0), throttle_s=60.0, export_dir=tmp_path)
    question = "When was the signing ceremony held?"
    assert len(run(fast, question)) > 5
    assert len(run(slow, question)) == 2  # the sources, then the final answer


def test_follow_up_passes_the_history(handlers):
    first = run(handlers, "Siapa ketua komite negosiasi?")[-1]
    run(handlers, "Apa yang dia sampaikan?", answers=first[2], messages=first[1])
    question, history = handlers.pipeline.calls[-1]
    assert question == "Apa yang dia sampaikan?"
    assert [t.question for t in history] == ["Siapa ketua komite negosiasi?"]
    assert "Mebarki" in history[0].answer


def test_empty_question_is_a_notice_and_leaves_the_chat_alone(handlers):
    (step,) = run(handlers, "  ")
    assert step[0] == [] and "question is empty" in step[4]


@pytest.mark.parametrize(
    "error, shown",
    [
        (ModelError("The language model failed: out of memory."), "out of memory"),
        (IndexStoreError("The index is corrupt: run `chatbot index`."), "chatbot index"),
        (ValueError("bad value"), "ValueError: bad value"),
    ],
)
def test_failures_become_a_readable_bubble_and_keep_the_question(tmp_path, error, shown):
    handlers = app._Handlers(FakePipeline(token_delay_s=0.0, fail_on={"negara": error}), 0.0, tmp_path)
    last = run(handlers, "Berapa negara?")[-1]
    bubble = last[0][-1]["content"]
    assert "answer error" in bubble and shown in bubble and "Traceback" not in bubble
    assert last[2] == () and last[5] == "Berapa negara?"  # not in history; back in the box to retry
    assert "retrieved" not in last[3] and "Sources appear here" in last[3]  # the unfinished turn is gone


def test_a_failure_before_retrieval_is_shown_too(tmp_path):
    class NoIndex(FakePipeline):
        def stream(self, question, history=()):
            raise IndexStoreError("The index in index/ was built with another embedder: run `chatbot index`.")

    (step,) = run(app._Handlers(NoIndex(), 0.0, tmp_path), "Berapa negara?")
    assert "answer error" in step[0][-1]["content"] and "another embedder" in step[0][-1]["content"]
    assert step[0][-2]["content"] == '<div class="question">Berapa negara?</div>'


def test_create_app_builds_blocks():
    import gradio as gr

    demo = app.create_app(FakePipeline(token_delay_s=0.0))
    assert isinstance(demo, gr.Blocks)
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"chat", "sources", "status", "question", "send", "clear", "export-md", "export-json"} <= ids


def test_status_line_shows_a_failure_instead_of_crashing(tmp_path):
    ok = app._Handlers(FakePipeline(), 0.0, tmp_path).status()
    assert "fake-generator" in ok and "status-error" not in ok
    broken = FakePipeline(info_error=IndexStoreError("The index is corrupt: run `chatbot index`."))
    html = app._Handlers(broken, 0.0, tmp_path).status()
    assert "status-error" in html and "chatbot index" in html


def test_the_top_level_app_py_is_a_shim_over_chatbot_web_app():
    spec = importlib.util.spec_from_file_location("app_shim", REPO / "app.py")
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    assert shim.main is app.main
