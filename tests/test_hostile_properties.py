"""Property tests (hypothesis): random Unicode, lone surrogates and control characters included, fed to the
input boundary, the batch reader and writer, the terminal writer and the HTML / Markdown / JSON renderers.
Nothing may raise but the project's own ``InputError``, and what comes out always encodes as UTF-8."""

from __future__ import annotations

import io
import json
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.batch import parse_line, read_lines, result_line, run_batch, write_results
from chatbot.boundary import clean_text, for_terminal, has_content, json_dumps, prepare_question, scrub
from chatbot.cli import print_sources, stream_answer
from chatbot.errors import InputError
from chatbot.types import Answer, Article, Chunk, Citation, Done, Hit, PipelineInfo, Retrieved, Token
from chatbot.web import render as ui

# Every code point, surrogates too, with the characters that tend to break things made likely.
TRICKY = "\x00\x01\x07\x08\x0b\x0c\r\n\t\x1b\x7f\x85\x9b\x9d\u2028\u2029\u202e\u2066\ufeff\ufffd[]<>&\"'\\"
ANY_CHAR = st.one_of(st.characters(exclude_categories=()), st.sampled_from(TRICKY),
                     st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
TEXT = st.text(ANY_CHAR, max_size=60)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encodes(text: str) -> bool:
    text.encode("utf-8")
    return True


@FAST
@given(TEXT, st.integers(min_value=1, max_value=80))
def test_prepare_question_cleans_or_raises_input_error(text, max_chars):
    try:
        prepared = prepare_question(text, max_chars)
    except InputError:
        return
    out = prepared.text
    assert encodes(out) and has_content(out) and len(out) <= max_chars
    assert out == " ".join(out.split()) and unicodedata.is_normalized("NFC", out)
    assert not any(unicodedata.category(ch) == "Cc" for ch in out)


@FAST
@given(st.one_of(TEXT, st.integers(), st.none(), st.lists(TEXT, max_size=2)))
def test_prepare_question_refuses_what_is_not_text(value):
    try:
        prepare_question(value, 100)
    except InputError:
        pass


@FAST
@given(TEXT)
def test_clean_text_is_idempotent_and_encodable(text):
    once = clean_text(text)
    assert clean_text(once) == once and encodes(once)


@FAST
@given(TEXT)
def test_for_terminal_leaves_no_control_character(text):
    out = for_terminal(text)
    assert encodes(out)
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in out)
    assert "\u202e" not in out


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | TEXT
                           | st.floats(allow_nan=False, allow_infinity=False),
                           lambda inner: (st.lists(inner, max_size=3)
                                          | st.dictionaries(TEXT, inner, max_size=3)),
                           max_leaves=8)


@FAST
@given(JSON_VALUES)
def test_json_dumps_round_trips_like_ascii_json_and_encodes(value):
    out = json_dumps(value)
    assert encodes(out) and json.loads(out) == json.loads(json.dumps(value))
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in out)


@FAST
@given(TEXT)
def test_parse_line_raises_only_input_error(raw):
    try:
        parse_line(raw, 1)
    except InputError:
        pass


@FAST
@given(st.binary(max_size=200))
def test_read_lines_keeps_every_line(data):
    lines = read_lines(data)
    assert len(lines) == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    for line in lines:
        parse_line_or_input_error(line)


def parse_line_or_input_error(line: str) -> None:
    try:
        parse_line(line, 1)
    except InputError:
        pass


class EchoPipeline:
    """Answers every question with itself; fails on some, as a model might."""

    def ask(self, question, history=()):
        text = prepare_question(question, 2000).text
        if "x" in text:
            raise RuntimeError("the model crashed")
        return Answer(question=text, language="id", text=text, refused=False, search_query=text)


@FAST
@given(st.lists(st.one_of(TEXT, JSON_VALUES.map(json.dumps),
                          st.builds(lambda i, q: json.dumps({"id": i, "question": q}), JSON_VALUES, TEXT),
                          st.builds(lambda i, q: json.dumps({"id": i, "question": q}, ensure_ascii=False),
                                    JSON_VALUES, TEXT)),
                max_size=6))
def test_batch_writes_one_valid_json_line_per_input_line(lines):
    lines = [line.replace("\n", " ") for line in lines]  # one input line each
    out = io.StringIO()
    write_results(run_batch(EchoPipeline(), lines, progress=False), out)
    written = out.getvalue().splitlines()
    assert len(written) == len(lines) and encodes(out.getvalue())
    for n, (raw, text) in enumerate(zip(lines, written, strict=True), start=1):
        row = json.loads(text)
        assert row["line"] == n
        try:
            given_obj = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(given_obj, dict) and not any("\udc80" <= ch <= "\udcff" for ch in raw):
            assert row["id"] == given_obj.get("id")  # exactly as given


@FAST
@given(st.dictionaries(TEXT, JSON_VALUES, max_size=4), st.integers(min_value=1, max_value=99))
def test_result_line_always_writes_something(result, line):
    result = {**result, "line": line}
    text, _ = result_line(result)
    assert encodes(text) and json.loads(text)["line"] == line


def chunk_of(text: str, title: str, url: str) -> Chunk:
    return Chunk("c1", "a1", title, url, "example.vn", text, 0, len(text))


ANSWERS = st.builds(
    lambda q, t, notice, ctext, title, url, refused: Answer(
        question=q, language="id", text=t, refused=refused, notice=notice or None,
        citations=(Citation(1, chunk_of(ctext, title, url)),),
        hits=(Hit(chunk_of(ctext, title, url), 0.9, 1),)),
    TEXT, TEXT, TEXT, TEXT, TEXT, st.one_of(TEXT, st.just("https://example.vn/a")), st.booleans())


@FAST
@given(ANSWERS, TEXT)
def test_renderers_never_raise_and_escape(answer, article_text):
    chunk = answer.citations[0].chunk
    article = Article("a1", chunk.title, chunk.url, "example.vn", None, article_text + chunk.text, "p", "h")
    outputs = [
        ui.render_question(answer.question),
        ui.render_answer(answer, 1),
        ui.render_pending(answer.text, 1, 1),
        ui.render_error(answer.text),
        ui.render_sources_panel((answer,), {"a1": article}),
        ui.render_sources_panel((), {"a1": article}, pending_hits=answer.hits,
                                pending_question=answer.question),
        ui.render_status(PipelineInfo(answer.text, "g", "hybrid", 1, 1, "i", warnings=(answer.question,))),
        ui.conversation_to_markdown([answer]),
        ui.conversation_to_json([answer]),
    ]
    for out in outputs[:-2]:
        assert encodes(out) and "<script" not in out.replace("&lt;script", "")
    assert encodes(outputs[-2]) and encodes(outputs[-1])
    assert json.loads(outputs[-1])["turns"][0]["question"] == json.loads(json.dumps(answer.question))


class StreamingFake:
    def __init__(self, answer: Answer, pieces: list[str]) -> None:
        self.answer, self.pieces = answer, pieces

    def stream(self, question, history=()):
        yield Retrieved(self.answer.hits, "id", question)
        for piece in self.pieces:
            yield Token(piece)
        yield Done(self.answer)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(ANSWERS, st.lists(TEXT, max_size=4))
def test_terminal_output_never_raises_and_holds_no_escape(capsys, answer, pieces):
    out = io.StringIO()
    stream_answer(StreamingFake(answer, pieces), answer.question, (), out=out)
    print_sources(answer, out)
    text = out.getvalue() + capsys.readouterr().err
    assert encodes(scrub(text)) and encodes(text)
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text)
