"""Passage excerpts for a shorter prompt: sentence splitting, selection within a budget, the cached scorer,
and the pipeline showing excerpts to the model while citing whole passages."""

from __future__ import annotations

import pytest

from chatbot.answer.excerpts import GAP, SentenceScorer, select_excerpts
from chatbot.answer.prompting import build_messages
from chatbot.embedders.fake import HashEmbedder
from chatbot.generation.fake import ScriptedGenerator
from chatbot.pipeline import Pipeline


def test_zero_budget_keeps_every_sentence():
    passages = [["A a.", "B b."], ["C c."]]
    assert select_excerpts(passages, [[0.1, 0.2], [0.3]], 0) == ["A a. B b.", "C c."]


def test_every_passage_keeps_its_best_sentence_even_over_budget():
    passages = [["one.", "two.", "three."], ["four.", "five."]]
    out = select_excerpts(passages, [[0.1, 0.9, 0.2], [0.8, 0.3]], budget_chars=1)
    assert out == [f"{GAP.lstrip()}two.{GAP.rstrip()}", f"four.{GAP.rstrip()}"]


def test_remaining_budget_goes_to_the_best_sentences_in_their_original_order():
    passages = [["aaaa.", "bbbb.", "cccc.", "dddd."]]
    scores = [[0.5, 0.1, 0.9, 0.7]]
    # best ("cccc.", 5 chars) first, then "dddd." (5 + 1), then "aaaa." needs 6 more: 17 in all
    assert select_excerpts(passages, scores, 17) == [f"aaaa.{GAP}cccc. dddd."]
    assert select_excerpts(passages, scores, 16) == [f"{GAP.lstrip()}cccc. dddd."]
    assert select_excerpts(passages, scores, 11) == [f"{GAP.lstrip()}cccc. dddd."]


def test_scores_must_match_sentences():
    with pytest.raises(ValueError):
        select_excerpts([["a.", "b."]], [[0.1]], 10)


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_scorer_keeps_the_sentence_about_the_question_and_caches_vectors():
    embedder = CountingEmbedder()
    scorer = SentenceScorer(embedder)
    text = ("Cuaca di Hanoi cerah sepanjang hari. Konvensi ditandatangani oleh 72 negara di Hanoi. "
            "Para tamu menikmati makan malam bersama.")
    first = scorer.excerpts(["Berapa negara yang menandatangani konvensi?"], [text], budget_chars=60)
    assert "72 negara" in first[0] and "makan malam" not in first[0] and "Cuaca" not in first[0]
    calls = len(embedder.embedded)
    assert calls == 3
    scorer.excerpts(["Siapa yang menandatangani konvensi?"], [text], budget_chars=60)
    assert len(embedder.embedded) == calls  # the sentences' vectors came from the cache


def test_scorer_leaves_passages_within_budget_unchanged():
    embedder = CountingEmbedder()
    texts = ["Satu kalimat. Dua kalimat.", "Tiga."]
    assert SentenceScorer(embedder).excerpts(["apa?"], texts, budget_chars=100) == texts
    assert embedder.embedded == []


def test_scorer_cache_is_bounded():
    scorer = SentenceScorer(HashEmbedder(), cache_size=2)
    vectors = scorer.vectors(["a.", "b.", "c."])
    assert vectors.shape[0] == 3
    assert list(scorer._vectors) == ["b.", "c."]  # the least recently used went first


def test_build_messages_shows_the_given_texts_but_needs_one_per_hit(fake_config):
    pipe = Pipeline(fake_config, embedder=HashEmbedder(), generator=ScriptedGenerator([]))
    hits = pipe.retriever.search("Berapa negara yang menandatangani Konvensi Hanoi?", 2)
    messages = build_messages("Berapa negara?", hits, "id", texts=["EXCERPT ONE", "EXCERPT TWO"])
    assert "[1] EXCERPT ONE" in messages[-1].content and "[2] EXCERPT TWO" in messages[-1].content
    assert hits[0].chunk.text not in messages[-1].content
    with pytest.raises(ValueError):
        build_messages("Berapa negara?", hits, "id", texts=["only one"])


def test_pipeline_prompts_with_excerpts_and_cites_whole_passages(fake_config):
    question = "Berapa negara yang menandatangani Konvensi Hanoi?"
    full = Pipeline(fake_config, embedder=HashEmbedder(), generator=ScriptedGenerator(["72 negara [1]."]))
    short_gen = ScriptedGenerator(["72 negara [1]."])
    short = Pipeline(fake_config.with_(passage_budget_chars=300), embedder=HashEmbedder(),
                     generator=short_gen)
    a_full, a_short = full.ask(question), short.ask(question)
    prompt_full = full._generator.calls[0][-1].content
    prompt_short = short_gen.calls[0][-1].content
    assert len(prompt_short) < len(prompt_full)
    passages = prompt_short.split("\n[")
    assert len(passages) >= len(a_short.hits)  # every passage is still shown, numbered as before
    assert a_short.citations and a_short.citations[0].chunk == a_full.citations[0].chunk
    # the citation holds the whole passage, the prompt only an excerpt of it
    assert " ".join(a_short.citations[0].chunk.text.split()) not in " ".join(prompt_short.split())

