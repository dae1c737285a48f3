"""Window mode without a model: window cutting, state keys and invalidation, the disk budget, citations
mapped from window numbers to passages, and follow-ups that switch windows. The generator is
``PrefixStateFake``, which records what it was asked to evaluate."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from chatbot.answer.citations import parse_citations
from chatbot.answer.window_states import StateStore, state_key
from chatbot.answer.windows import (
    choose_window,
    cut_windows,
    load_window_prompts,
    window_prefix,
    window_suffix,
)
from chatbot.embedders.fake import HashEmbedder
from chatbot.generation.fake import PrefixStateFake, ScriptedGenerator
from chatbot.pipeline import Pipeline
from chatbot.types import Chunk, Hit, Turn


def window_pipe(config, gen=None, **changes):
    gen = gen or PrefixStateFake()
    return Pipeline(config.with_(answer_context="window", **changes), embedder=HashEmbedder(),
                    generator=gen), gen


def chunks_of(texts, article="a1", overlap=0):
    out, start = [], 0
    for i, t in enumerate(texts):
        out.append(Chunk(f"{article}-{i}", article, "Judul", "https://x.id/a", "x.id", t, start,
                         start + len(t)))
        start += len(t) + 1 - overlap
    return out


# --- cutting ----------------------------------------------------------------------------------------------

def test_default_budget_holds_each_article_of_the_corpus_whole(real_corpus_fake_models):
    pipe, _ = window_pipe(real_corpus_fake_models)
    windows = pipe.windows()
    assert len(windows) == 5
    assert sorted(w.article_id for w in windows) == sorted({c.article_id for c in pipe.retriever.chunks})
    assert sum(len(w.chunks) for w in windows) == len(pipe.retriever.chunks)


def test_small_budget_cuts_consecutive_whole_passages(real_corpus_fake_models):
    pipe, _ = window_pipe(real_corpus_fake_models, window_tokens=400)
    windows = pipe.windows()
    assert len(windows) > 5
    for w in windows:
        assert w.tokens <= 400 or len(w.chunks) == 1
        starts = [c.start for c in w.chunks]
        assert starts == sorted(starts)
    per_article: dict[str, list] = {}
    for w in windows:
        per_article.setdefault(w.article_id, []).extend(w.chunks)
    for aid, cs in per_article.items():  # every passage once, in article order, across the windows
        assert cs == sorted((c for c in pipe.retriever.chunks if c.article_id == aid), key=lambda c: c.start)


def test_window_text_does_not_repeat_the_overlap():
    article_text = "Satu dua tiga. Empat lima enam. Tujuh delapan sembilan."
    from chatbot.types import Article

    art = Article("a1", "Judul", "u", "x", None, article_text, "p", "h")
    cs = [Chunk("c0", "a1", "Judul", "u", "x", article_text[0:31], 0, 31),
          Chunk("c1", "a1", "Judul", "u", "x", article_text[15:], 15, len(article_text))]
    (w,) = cut_windows([art], cs, 1000)
    assert w.texts == ("Satu dua tiga.", "Empat lima enam. Tujuh delapan sembilan.")


def test_prefix_is_the_same_for_every_question_and_language():
    (w,) = cut_windows([], chunks_of(["Konvensi ditandatangani 72 negara.", "Gutsan memimpin delegasi."]),
                       1000)
    prefix = window_prefix(w)
    shown = prefix.system + prefix.user_prefix  # the prompt file decides which message holds the article
    assert "[1] Konvensi" in shown and "[2] Gutsan" in shown
    s_id = window_suffix("Siapa memimpin?", "id", (2,))
    s_en = window_suffix("Who led it?", "en", (2,))
    for s in (s_id, s_en):
        assert prefix.messages(s)[1].content.startswith(prefix.user_prefix)
        # no not-found phrase next to the question (the model wrote it for most answerable questions):
        # the rule is in the prefix's rules only
        assert "NOT FOUND" not in s and "TIDAK DITEMUKAN" not in s
    assert "Indonesian" in s_id and "English" in s_en
    assert "NOT FOUND" in prefix.system


def test_passages_are_numbered_through_the_corpus_and_cited_back_from_1():
    first, second = cut_windows([], chunks_of(["a0", "a1", "a2"], "A") + chunks_of(["b0", "b1"], "B"), 1000)
    assert (first.first, second.first) == (1, 4)
    assert "[4] b0" in window_prefix(second).user_prefix + window_prefix(second).system
    assert "[1] b0" not in window_prefix(second).user_prefix + window_prefix(second).system
    assert second.shown(2) == 5
    parsed = parse_citations("Ditandatangani [5]. Lain [2] dan [4, 5].", len(second.chunks),
                             first=second.first)
    assert parsed.numbers == (2, 1) and parsed.dropped == (2,)
    assert parsed.text == "Ditandatangani [2]. Lain dan [1][2]."


def test_the_hint_names_the_best_passages_by_their_shown_numbers():
    s = window_suffix("Who led it?", "en", (4, 5))
    assert "[4], [5]" in s
    assert s.index("[4], [5]") < s.index("Who led it?")


@pytest.mark.parametrize("reply", ["NOT FOUND", "TIDAK DITEMUKAN."])
def test_window_not_found_phrase_is_a_refusal_in_either_language(fake_config, reply):
    pipe, _ = window_pipe(fake_config, PrefixStateFake(lambda prefix, suffix: reply),
                          window_fallback_confidence=0)  # the window's own refusal, no fallback
    answer = pipe.ask("Siapa presiden Australia?")
    assert answer.refused and answer.answer_context == "window"


def test_choose_window_by_fused_mass_when_top_passages_split():
    wa = cut_windows([], chunks_of(["a0", "a1", "a2"], "A"), 1000)[0]
    wb = cut_windows([], chunks_of(["b0", "b1"], "B"), 1000)[0]
    of = {c.chunk_id: w for w in (wa, wb) for c in w.chunks}
    hits = [Hit(wb.chunks[1], 0.9, 1), Hit(wa.chunks[0], 0.8, 2), Hit(wa.chunks[2], 0.7, 3)]
    kept = choose_window(hits, of)  # two lower passages do not outweigh the best one
    assert kept.window is wb and kept.split and "fused score mass" in kept.note
    hits.append(Hit(wa.chunks[1], 0.6, 4))
    choice = choose_window(hits, of)  # three do
    assert choice.window is wa and choice.split and choice.numbers == (1, 3, 2)
    assert "not the window of the best passage" in choice.note
    single = choose_window(hits[:1], of)
    assert single.window is wb and not single.split and single.numbers == (2,)


# --- state keys and the store ----------------------------------------------------------------------------

def test_state_key_changes_with_window_prompt_file_and_model():
    (w,) = cut_windows([], chunks_of(["Teks satu.", "Teks dua."]), 1000)
    (w2,) = cut_windows([], chunks_of(["Teks satu.", "Teks dua diubah."]), 1000)
    p = window_prefix(w)
    base = state_key(p, "sha-prompt", "model-a")
    assert base == state_key(window_prefix(w), "sha-prompt", "model-a")
    assert base != state_key(p, "sha-prompt-edited", "model-a")
    assert base != state_key(p, "sha-prompt", "model-b")
    assert base != state_key(window_prefix(w2), "sha-prompt", "model-a")


def test_states_are_built_once_and_rebuilt_only_when_something_changed(tmp_path):
    windows = cut_windows([], chunks_of(["Satu.", "Dua."], "A") + chunks_of(["Tiga."], "B"), 1000)
    gen = PrefixStateFake()
    report = StateStore(tmp_path, 10**9).ensure(windows, gen, progress=False)
    assert report.built == 2 and len(gen.prefilled) == 2
    again = StateStore(tmp_path, 10**9).ensure(windows, gen, progress=False)  # a new process: files reused
    assert again.built == 0 and again.kept == 2 and len(gen.prefilled) == 2
    # an article changed: only its window is prefilled again, the stale state file is deleted
    changed = cut_windows([], chunks_of(["Satu.", "Dua berubah."], "A") + chunks_of(["Tiga."], "B"), 1000)
    r = StateStore(tmp_path, 10**9).ensure(changed, gen, progress=False)
    assert (r.built, r.kept, r.removed) == (1, 1, 1) and len(gen.prefilled) == 3
    assert len(list((tmp_path / "window_states").glob("*.state"))) == 2
    # another model: everything again
    other = PrefixStateFake(identity="another-model")
    assert StateStore(tmp_path, 10**9).ensure(changed, other, progress=False).built == 2
    # the prompt file edited (its sha256 is part of the key): everything again
    prompts = replace(load_window_prompts(), sha256="edited")
    assert StateStore(tmp_path, 10**9, prompts).ensure(changed, other, progress=False).built == 2


def test_disk_budget_keeps_the_most_used_windows(tmp_path):
    windows = cut_windows([], chunks_of(["Satu " * 50], "A") + chunks_of(["Dua " * 50], "B")
                          + chunks_of(["Tiga " * 50], "C"), 10_000)
    gen = PrefixStateFake(bytes_per_token=100)
    full = StateStore(tmp_path, 10**9)
    full.ensure(windows, gen, progress=False)
    size = max(s["bytes"] for s in full.manifest["states"].values())
    for _ in range(3):
        full.record_use(windows[2])
    full.record_use(windows[1])
    small = StateStore(tmp_path, int(size * 2.5))  # room for two states
    r = small.ensure(windows, gen, progress=False)
    assert r.cold == 1 and r.kept == 2
    assert small.state_for(windows[0]) is None  # the least used one is cold
    assert small.state_for(windows[1]) and small.state_for(windows[2])
    assert len(list(small.folder.glob("*.state"))) == 2
    assert r.bytes <= small.budget_bytes


# --- answering --------------------------------------------------------------------------------------------

def _cite_the_hint(prefix, suffix) -> str:
    """A reply citing the first passage the suffix's hint names (by its number in the whole corpus)."""
    shown = re.search(r"Most relevant passages: \[(\d+)\]", suffix).group(1)
    return f"Konvensi ditandatangani [{shown}] dan [999]."


def _cite_the_hint_with(text: str):
    def reply(prefix, suffix) -> str:
        shown = re.search(r"Most relevant passages: \[(\d+)\]", suffix).group(1)
        return f"{text} [{shown}]."
    return reply


def test_window_answer_restores_the_state_and_maps_citations_to_window_passages(real_corpus_fake_models):
    gen = PrefixStateFake(_cite_the_hint)
    pipe, _ = window_pipe(real_corpus_fake_models, gen)
    answer = pipe.ask("Apa kata Wakil Presiden Ekuador?")
    assert answer.answer_context == "window" and answer.window
    assert len(gen.prefilled) == 5  # every window once, before the first answer
    prefix_text, suffix = gen.evaluated[-1]
    assert prefix_text is None  # restored from the state, not evaluated
    assert "Ekuador" in suffix
    window = next(w for w in pipe.windows() if w.window_id in answer.window or w.article_id in answer.window)
    shown = int(re.search(r"Most relevant passages: \[(\d+)\]", suffix).group(1))
    assert window.first > 1  # not the corpus's first window: its numbers differ from the local ones
    local = shown - window.first + 1
    assert [c.n for c in answer.citations] == [local]  # [999] is outside the window: dropped
    assert answer.citations[0].chunk == window.chunks[local - 1] == answer.hits[0].chunk
    assert "[999]" not in answer.text and f"[{local}]" in answer.text
    assert answer.prompt_tokens == len(gen.calls[-1][1].content.split()) or answer.prompt_tokens


def _prompt_text(messages) -> str:
    """A call's messages as one text: the window prefix's system and user parts, then the suffix."""
    return "\n".join(m.content for m in messages)


def test_follow_up_switches_windows_and_carries_the_earlier_turn(fake_config):
    gen = PrefixStateFake(_cite_the_hint)
    pipe, _ = window_pipe(fake_config, gen)
    first = pipe.ask("Siapa ketua komite negosiasi konvensi?")
    assert "Faouzia" in _prompt_text(gen.calls[-1])
    history = (Turn("Siapa ketua komite negosiasi konvensi?", "Faouzia Boumaiza Mebarki [1].",
                    first.search_query),)
    second = pipe.ask("Lalu bagaimana dengan delegasi Rusia dan Jaksa Agung Gutsan?", history)
    user = _prompt_text(gen.calls[-1])
    assert "Gutsan" in user.split("Earlier question")[0]  # the prefix is now the Russia window
    assert "Faouzia" not in user.split("Earlier question")[0]
    assert "Siapa ketua komite negosiasi konvensi?" in user  # the earlier turn travels in the suffix
    assert second.citations[0].chunk.article_id != first.citations[0].chunk.article_id


def test_generator_without_states_answers_in_passage_mode(fake_config):
    gen = ScriptedGenerator(["72 negara [1]."])
    pipe = Pipeline(fake_config.with_(answer_context="window"), embedder=HashEmbedder(), generator=gen)
    answer = pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?")
    assert answer.answer_context == "passages" and "Passages:" not in gen.calls[0][1].content


def test_cold_window_is_answered_in_passage_mode(real_corpus_fake_models):
    gen = PrefixStateFake()
    pipe, _ = window_pipe(real_corpus_fake_models, gen, window_state_budget_mb=0.0)
    answer = pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?")
    assert answer.answer_context == "passages" and gen.prefilled == [] and gen.evaluated == []


def test_served_backend_gets_the_window_prefix_byte_identical(real_corpus_fake_models):
    class Served(ScriptedGenerator):
        serves_prefix_cache = True

    gen = Served(["Jawaban [1].", "Answer [1]."])
    pipe = Pipeline(real_corpus_fake_models.with_(answer_context="window"), embedder=HashEmbedder(),
                    generator=gen)
    a = pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?")
    b = pipe.ask("How many countries signed the Hanoi Convention?")
    assert a.answer_context == b.answer_context == "window"
    if a.window.split(";")[0] == b.window.split(";")[0]:  # same window: same system and user-prefix bytes
        assert gen.calls[0][0] == gen.calls[1][0]
        common = [x == y for x, y in zip(gen.calls[0][1].content, gen.calls[1][1].content, strict=False)]
        prefix = window_prefix(next(w for w in pipe.windows() if w.article_id in a.window)).user_prefix
        assert all(common[:len(prefix)])


@pytest.mark.parametrize("p_yes,refused", [(0.1, True), (0.9, False)])
def test_answerability_check_refuses_before_answering(fake_config, p_yes, refused):
    gen = PrefixStateFake(lambda prefix, suffix: "72 negara [1].", yes=p_yes)
    pipe, _ = window_pipe(fake_config, gen, answerability_threshold=0.5)
    answer = pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?")
    assert answer.refused is refused
    assert len(gen.evaluated) == (1 if refused else 2)  # the check reads only the short check suffix
    assert "yes or no" in gen.evaluated[0][1]


def test_invented_number_in_window_answer_is_refused(fake_config):
    gen = PrefixStateFake(lambda prefix, suffix: "Konvensi memuat 68 pasal [1].")
    pipe, _ = window_pipe(fake_config, gen, window_fallback_confidence=0)
    assert pipe.ask("Berapa pasal yang dimuat Konvensi Hanoi?").refused


def test_window_reply_of_only_a_citation_is_no_answer(fake_config):
    pipe, _ = window_pipe(fake_config, PrefixStateFake(lambda prefix, suffix: "[3]"),
                          window_fallback_confidence=0)
    answer = pipe.ask("Siapa yang memimpin delegasi Rusia?")
    assert answer.refused and answer.answer_context == "window" and answer.citations == ()


@pytest.mark.parametrize("p_yes,refused", [(0.1, True), (0.9, False)])
def test_support_check_asks_about_the_drafted_answer_and_refuses_below_the_threshold(fake_config, p_yes,
                                                                                       refused):
    gen = PrefixStateFake(_cite_the_hint, yes=p_yes)
    pipe, _ = window_pipe(fake_config, gen, support_threshold=0.5)
    answer = pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?")
    assert answer.refused is refused
    assert len(gen.evaluated) == 2  # the answer's suffix, then the check's
    check = gen.evaluated[1][1]
    assert "Proposed answer: Konvensi ditandatangani dan." in check  # citations left out
    assert "Berapa negara" in check and "yes or no" in check
    assert f"supported p={p_yes:.2f}" in answer.window


def test_support_check_is_off_by_default(fake_config):
    gen = PrefixStateFake(_cite_the_hint, yes=0.01)
    pipe, _ = window_pipe(fake_config, gen)
    assert not pipe.ask("Berapa negara yang menandatangani Konvensi Hanoi?").refused
    assert len(gen.evaluated) == 1


def test_a_passage_named_without_brackets_is_cited(real_corpus_fake_models):
    def reply(prefix, suffix):
        shown = re.search(r"Most relevant passages: \[(\d+)\]", suffix).group(1)
        return f"Wakil Presiden Ekuador berbicara. This is stated in passage {shown}."

    pipe, gen = window_pipe(real_corpus_fake_models, PrefixStateFake(reply))
    answer = pipe.ask("Apa kata Wakil Presiden Ekuador?")
    assert not answer.refused  # the passage's number is not an invented number
    assert answer.hits[0].chunk in [c.chunk for c in answer.citations]
    assert "passage [" in answer.text


@pytest.mark.parametrize("reply", ["Tidak FOUND [8]", "[3] NOT FOUND", "Tidak found."])
def test_a_translated_or_cited_not_found_phrase_is_a_refusal(fake_config, reply):
    pipe, _ = window_pipe(fake_config, PrefixStateFake(lambda prefix, suffix: reply),
                          window_fallback_confidence=0)  # the window's own refusal, no fallback
    assert pipe.ask("Bagaimana cara memasak pho ayam khas Hanoi?").refused


def test_an_answer_that_opens_with_tidak_is_no_refusal(fake_config):
    pipe, _ = window_pipe(fake_config, PrefixStateFake(_cite_the_hint_with("Tidak, Indonesia tidak disebut")))
    assert not pipe.ask("Apakah Konvensi ditandatangani di Hanoi?").refused
