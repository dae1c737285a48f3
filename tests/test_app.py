"""chatbot/web/app.py without a browser: flags -> Config, the answer handler's yields, errors, and history
per call."""

from __future__ import annotations

import dataclasses
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
    """All yields of one ask, each an ``app.UiUpdate``."""
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
            "--answer-context",
            "window",
            "--fallback-confidence",
            "0.35",
        ]
    )
    assert rc == 0
    assert seen["config"] == Config().with_(
        generator="fake",
        embedder="fake",
        top_k=2,
        answer_context="window",
        window_fallback_confidence=0.35,
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
    monkeypatch.setattr(app, "create_app",
                        lambda pipeline, **kw: pytest.fail("must not serve a broken index"))
    assert app.main([]) == 1
    assert "corrupt" in capsys.readouterr().err


def test_ask_yields_sources_first_then_tokens_then_the_answer(handlers):
    steps = run(handlers, "Berapa negara yang menandatangani Konvensi Hanoi?")
    first, last = steps[0], steps[-1]
    assert "retrieved" in first.sources and "pending" in first.chat[-1]["content"]
    assert any("72" in s.chat[-1]["content"] and "pending" in s.chat[-1]["content"] for s in steps[1:-1])
    answers = last.answers
    assert len(answers) == 1 and answers[0].citations[0].n == 1
    assert 'href="#src-1-1"' in last.chat[-1]["content"] and "pending" not in last.chat[-1]["content"]
    assert last.messages == last.chat  # the bubbles are remembered for the next turn
    assert Path(last.md_file["value"]).read_text("utf-8").startswith("# Conversation")
    assert last.session and (handlers.export_dir / last.session / "conversation.json").exists()


def test_throttle_limits_the_number_of_updates(tmp_path):
    fast = app._Handlers(FakePipeline(token_delay_s=0.0), throttle_s=0.0, export_dir=tmp_path)
    slow = app._Handlers(FakePipeline(token_delay_s=0.0), throttle_s=60.0, export_dir=tmp_path)
    question = "When was the signing ceremony held?"
    assert len(run(fast, question)) > 5
    assert len(run(slow, question)) == 2  # the sources, then the final answer


def test_follow_up_passes_the_history(handlers):
    first = run(handlers, "Siapa ketua komite negosiasi?")[-1]
    run(handlers, "Apa yang dia sampaikan?", answers=first.answers, messages=first.messages)
    question, history = handlers.pipeline.calls[-1]
    assert question == "Apa yang dia sampaikan?"
    assert [t.question for t in history] == ["Siapa ketua komite negosiasi?"]
    assert "Mebarki" in history[0].answer


def test_empty_question_is_a_notice_and_leaves_the_chat_alone(handlers):
    (step,) = run(handlers, "  ")
    assert step.chat == [] and "question is empty" in step.notice


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
    bubble = last.chat[-1]["content"]
    assert "answer error" in bubble and shown in bubble and "Traceback" not in bubble
    assert last.answers == () and last.box == "Berapa negara?"  # not in history; back in the box to retry
    assert "retrieved" not in last.sources and "Sources appear here" in last.sources  # the turn is gone


def test_a_failure_before_retrieval_is_shown_too(tmp_path):
    class NoIndex(FakePipeline):
        def stream(self, question, history=()):
            raise IndexStoreError("The index in index/ was built with another embedder: run `chatbot index`.")

    (step,) = run(app._Handlers(NoIndex(), 0.0, tmp_path), "Berapa negara?")
    assert "answer error" in step.chat[-1]["content"] and "another embedder" in step.chat[-1]["content"]
    assert step.chat[-2]["content"] == '<div class="question">Berapa negara?</div>'


def test_create_app_builds_blocks():
    import gradio as gr

    demo = app.create_app(FakePipeline(token_delay_s=0.0))
    assert isinstance(demo, gr.Blocks)
    ids = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert {"chat", "sources", "status", "question", "send", "clear", "export-md", "export-json"} <= ids


def test_each_ui_update_field_is_wired_to_the_output_of_its_name():
    import gradio as gr

    demo = app.create_app(FakePipeline(token_delay_s=0.0))
    names = [f.name for f in dataclasses.fields(app.UiUpdate)]
    shown = {"chat": "chat", "sources": "sources", "notice": "notice", "box": "question",
             "md_file": "export-md", "json_file": "export-json"}
    states = {"messages": [], "answers": (), "session": ""}  # told apart by their initial values
    events = {f.name: f for f in demo.fns.values() if f.name in ("ask_outputs", "reset")}
    assert set(events) == {"ask_outputs", "reset"}
    for event in events.values():
        for name, block in zip(names, event.outputs, strict=True):
            if name in states:
                assert isinstance(block, gr.State) and block.value == states[name], name
            else:
                assert block.elem_id == shown[name], name
    cleared = dict(zip(names, events["reset"].fn(), strict=True))
    assert cleared["chat"] == [] and cleared["answers"] == () and cleared["box"] == ""
    assert cleared["session"] == gr.update()  # clearing the chat keeps the export folder


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


class RestartingPipeline(FakePipeline):
    """A window-mode answer that streams a draft, drops it (``Restart``) and streams the passage answer."""

    def stream(self, question, history=()):
        from chatbot.types import Restart, Retrieved, Token

        for event in super().stream(question, history):
            yield event
            if isinstance(event, Retrieved):
                yield Token("DRAFT-THAT-WAS-DROPPED ")
                yield Restart("confidence 0.05 below 0.20: answered from the best passages")


def test_a_restart_drops_the_streamed_draft_from_the_bubble(tmp_path):
    handlers = app._Handlers(RestartingPipeline(token_delay_s=0.0), throttle_s=0.0, export_dir=tmp_path)
    steps = run(handlers, "Berapa negara yang menandatangani Konvensi Hanoi?")
    assert any("DRAFT-THAT-WAS-DROPPED" in s.chat[-1]["content"] for s in steps)  # it was shown
    streaming_answer = [s.chat[-1]["content"] for s in steps[1:-1] if "72" in s.chat[-1]["content"]]
    assert streaming_answer and not any("DRAFT" in c for c in streaming_answer)  # the draft is gone
    assert "72" in steps[-1].chat[-1]["content"] and "DRAFT" not in steps[-1].chat[-1]["content"]
