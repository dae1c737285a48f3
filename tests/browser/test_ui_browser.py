"""The chat page in headless Chromium, against the scripted ``FakePipeline`` (fast; no model).

One Gradio server per module; each test gets a fresh browser context (a new browser session, so a new
conversation). The fake records every question and the history the page sent with it.
"""

from __future__ import annotations

import json
import time
from contextlib import suppress

import pytest
from browser_fixtures import ARTIFACTS, ask, browser, last_answer, open_app, serve
from fake_pipeline import DEFAULT_SCRIPT, FakePipeline

from chatbot.errors import ModelError

_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
PlaywrightError, expect = _playwright.Error, _playwright.expect
# Gradio's queue trips pandas deprecation warnings on every event; they are Gradio's, not ours.
GRADIO_NOISE = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
pytestmark = [*GRADIO_NOISE, pytest.mark.browser, pytest.mark.timeout(180)]

LONG_REPLY = " ".join(["Upacara penandatanganan diselenggarakan di Hanoi pada 25 Oktober 2025 [1]."] * 6)


@pytest.fixture(scope="module")
def fake() -> FakePipeline:
    script = {**DEFAULT_SCRIPT, "jelaskan upacara": LONG_REPLY}
    return FakePipeline(
        script=script,
        token_delay_s=0.02,
        fail_on={
            "boom": ModelError("The language model failed while answering: out of memory (fake)."),
            "crash": RuntimeError("kaboom"),
        },
    )


@pytest.fixture(scope="module")
def app_url(fake, tmp_path_factory):
    with serve(fake, export_dir=tmp_path_factory.mktemp("exports")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.fixture
def context(chromium):
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, app_url):
    return open_app(context, app_url)


def calls_for(fake: FakePipeline, question: str):
    return [history for q, history in fake.calls if q == question]


def test_page_loads_with_status_examples_and_empty_sources(page):
    status = page.locator("#status").inner_text()
    assert "fake-generator" in status and "3 articles" in status and "13 passages" in status
    examples = page.locator("#examples").inner_text()
    assert "Berapa negara yang menandatangani Konvensi Hanoi?" in examples
    assert "Who led the Russian delegation?" in examples
    assert "Sources appear here" in page.locator("#sources").inner_text()
    assert page.locator("#chat .answer").count() == 0
    page.locator("#examples").get_by_text("Who led the Russian delegation?").click()
    # Gradio fills the box through a server round trip: poll instead of reading it at once.
    expect(page.locator("#question textarea")).to_have_value("Who led the Russian delegation?",
                                                             timeout=10_000)


def test_answer_streams_and_sources_show_before_the_answer_ends(page):
    page.locator("#question textarea").fill("Jelaskan upacara penandatanganan Konvensi Hanoi")
    page.locator("#send").click()
    # While the answer is still being written, the retrieved passages are already readable.
    page.wait_for_selector("#sources section.retrieved .src-card", timeout=15_000)
    assert page.locator("#chat .answer.pending").count() == 1
    seen = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pending = page.locator("#chat .answer.pending")
        if pending.count() == 0:
            break
        with suppress(PlaywrightError):  # the bubble may be replaced between count() and inner_text()
            seen.add(pending.first.inner_text(timeout=500))
        time.sleep(0.05)
    final = last_answer(page)
    final.wait_for(timeout=15_000)
    growing = sorted((t for t in seen if t.strip("…▍ ")), key=len)
    assert len(growing) >= 3, f"expected several partial updates, saw {growing!r}"
    assert all(growing[i] != growing[i + 1] for i in range(len(growing) - 1))
    assert final.locator("a.cite").first.inner_text() == "[1]"
    # After Done the sources panel shows the cited card instead of the "searching" view.
    assert page.locator("#sources section.retrieved").count() == 0
    assert page.locator("#sources .src-card.cited").count() == 1


def test_citation_opens_the_highlighted_passage_and_its_link(page, fake):
    ask(page, "Berapa negara yang menandatangani Konvensi Hanoi?")
    answer = last_answer(page)
    assert "72 negara" in answer.inner_text()
    assert page.locator("#chat button[aria-label='Copy message']").count() == 0  # it would copy our HTML
    cite = answer.locator("a.cite").first
    assert cite.get_attribute("href") == "#src-1-1"
    cite.click()
    card = page.locator("#src-1-1")
    card.wait_for()
    assert card.is_visible()
    page.wait_for_function(
        "() => { const r = document.getElementById('src-1-1').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }",
        timeout=5_000,
    )
    mark = card.locator("mark")
    assert (
        mark.inner_text().strip() == "Sebanyak 72 negara menandatangani Konvensi Hanoi pada hari pertama "
        "upacara penandatanganan."
    )
    assert "diselenggarakan di Hanoi" in card.locator(".src-context").inner_text()  # the article around it
    link = card.locator("a.src-link")
    assert link.get_attribute("href") == "https://example.vn/signing"
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")
    assert "Konvensi Hanoi ditandatangani 72 negara" in card.locator(".src-title").inner_text()
    # The passages retrieved but not cited wait in a collapsed section.
    other = page.locator("#sources details.uncited-group")
    assert other.count() == 1 and other.get_attribute("open") is None


def test_follow_up_sends_the_history(page, fake):
    first, second = "Siapa ketua komite negosiasi?", "Apa yang dia sampaikan kepada negara anggota?"
    ask(page, first)
    first_answer = last_answer(page).inner_text()
    ask(page, second)
    histories = calls_for(fake, second)
    assert histories, "the follow-up never reached the pipeline"
    history = histories[-1]
    assert [t.question for t in history] == [first]
    assert "Faouzia Boumaiza Mebarki" in history[0].answer
    assert "Faouzia Boumaiza Mebarki" in first_answer
    assert page.locator("#chat .answer:not(.pending)").count() == 2
    # Earlier turns' sources stay reachable, collapsed, under the current one.
    assert page.locator("#sources details.turn.earlier").count() == 1


@pytest.mark.parametrize("button", ["#clear", "#chat button[aria-label='Clear']"])
def test_clear_chat_forgets_the_conversation(page, fake, button):
    ask(page, "Siapa ketua komite negosiasi?")
    page.wait_for_function("() => !document.querySelector('#export-md').disabled", timeout=10_000)
    page.locator(button).click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer').length === 0", timeout=10_000)
    expect(page.locator("#sources")).to_contain_text("Sources appear here", timeout=10_000)
    expect(page.locator("#export-md")).to_be_disabled(timeout=10_000)
    question = f"When was the signing ceremony held? ({button})"
    ask(page, question)
    assert calls_for(fake, question)[-1] == ()  # no history after clearing


def test_clear_during_an_answer_stops_it(page):
    page.locator("#question textarea").fill("Jelaskan upacara penandatanganan, lalu berhenti")
    page.locator("#send").click()
    page.wait_for_selector("#chat .answer.pending", timeout=15_000)
    page.locator("#clear").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer').length === 0", timeout=10_000)
    expect(page.locator("#sources")).to_contain_text("Sources appear here", timeout=10_000)
    page.wait_for_timeout(2_000)  # longer than the rest of the scripted answer would take
    assert page.locator("#chat .answer").count() == 0
    assert "Sources appear here" in page.locator("#sources").inner_text()


def test_errors_are_readable_and_the_app_keeps_answering(page):
    page.locator("#question textarea").fill("   ")
    page.locator("#send").click()
    page.wait_for_selector("#notice .answer.error", timeout=10_000)
    assert "question is empty" in page.locator("#notice").inner_text()

    ask(page, "boom: berapa negara hadir?")
    error = last_answer(page)
    assert "error" in (error.get_attribute("class") or "")
    assert "out of memory (fake)" in error.inner_text()
    assert page.locator("#sources section.retrieved").count() == 0  # no stale "being written" view
    assert page.locator("#notice").inner_text().strip() == ""  # the earlier notice is gone

    ask(page, "crash: siapa ketua komite?")
    error = last_answer(page)
    text = error.inner_text()
    assert "RuntimeError: kaboom" in text and "still running" in text
    assert "Traceback" not in page.content()

    ask(page, "Who led the Russian delegation?")
    assert "Alexander Gutsan" in last_answer(page).inner_text()
    assert last_answer(page).locator("a.cite").count() == 1


def test_refusals_look_different_from_answers(page):
    ask(page, "Is there life on Mars?")
    refused = last_answer(page)
    assert "refused" in refused.get_attribute("class")
    assert refused.locator(".badge.not-found").inner_text().endswith("Not in the articles")
    assert refused.locator("a.cite").count() == 0
    ask(page, "Apakah ada kehidupan di Mars?")
    assert last_answer(page).locator(".badge.not-found").inner_text().endswith("Tidak ditemukan di artikel")


def test_two_browser_sessions_keep_separate_histories(chromium, app_url, fake):
    a_ctx = chromium.new_context()
    b_ctx = chromium.new_context()
    try:
        a, b = open_app(a_ctx, app_url), open_app(b_ctx, app_url)
        a.locator("#question textarea").fill("Siapa ketua komite negosiasi?")
        b.locator("#question textarea").fill("Who led the Russian delegation?")
        a.locator("#send").click()
        b.locator("#send").click()  # queued behind A's answer (one answer at a time)
        for p in (a, b):
            p.wait_for_selector("#chat .answer:not(.pending)", timeout=20_000)
        follow_a, follow_b = "Dan kapan dia berbicara? (A)", "And what did he discuss? (B)"
        ask(a, follow_a)
        ask(b, follow_b)
        assert [t.question for t in calls_for(fake, follow_a)[-1]] == ["Siapa ketua komite negosiasi?"]
        assert [t.question for t in calls_for(fake, follow_b)[-1]] == ["Who led the Russian delegation?"]
        assert "Russian" not in a.locator("#chat").inner_text()
        assert "ketua komite" not in b.locator("#chat").inner_text()
    finally:
        a_ctx.close()
        b_ctx.close()


def test_export_downloads_markdown_and_json(page, tmp_path):
    assert page.locator("#export-md").is_disabled()
    ask(page, "Berapa negara yang menandatangani Konvensi Hanoi?")
    ask(page, "When was the signing ceremony held?")
    page.wait_for_function("() => !document.querySelector('#export-md').disabled", timeout=10_000)
    with page.expect_download() as info:
        page.locator("#export-md").click()
    md_path = tmp_path / "conversation.md"
    info.value.save_as(md_path)
    md = md_path.read_text("utf-8")
    assert "## 1. Berapa negara yang menandatangani Konvensi Hanoi?" in md
    assert "## 2. When was the signing ceremony held?" in md
    assert "Sebanyak 72 negara menandatangani Konvensi Hanoi [1]." in md
    assert "1. [Konvensi Hanoi ditandatangani 72 negara](https://example.vn/signing)" in md
    assert (
        "> Sebanyak 72 negara menandatangani Konvensi Hanoi pada hari pertama upacara penandatanganan." in md
    )

    with page.expect_download() as info:
        page.locator("#export-json").click()
    js_path = tmp_path / "conversation.json"
    info.value.save_as(js_path)
    data = json.loads(js_path.read_text("utf-8"))
    assert [t["turn"] for t in data["turns"]] == [1, 2]
    assert data["turns"][1]["question"] == "When was the signing ceremony held?"
    assert [c["n"] for c in data["turns"][1]["citations"]] == [1, 3]
    assert data["turns"][0]["citations"][0]["url"] == "https://example.vn/signing"


def test_script_in_an_article_or_answer_does_not_run(page):
    ask(page, "Tunjukkan catatan script redaksi")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.locator("#sources mark").first.inner_text()
    assert "<script>window.__pwned = 3</script>" in last_answer(page).inner_text()
    assert "<b>memuji</b>" in page.locator("#sources .src-title").first.inner_text()  # a title's tags too
    assert page.locator("#sources script, #sources img, #chat .answer script").count() == 0


def test_screenshot_of_an_answered_page(page):
    ask(page, "When was the signing ceremony held?")
    last_answer(page).locator("a.cite").first.click()
    page.wait_for_timeout(700)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "ui_answered.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
