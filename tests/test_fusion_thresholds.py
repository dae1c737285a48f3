"""Language-aware fusion weights and refusal thresholds."""

from __future__ import annotations

import pytest

from chatbot.config import Config
from chatbot.embedders.fake import HashEmbedder
from chatbot.search.retrieval import Retriever, reciprocal_rank_fusion
from chatbot.search.vector_index import VectorIndex
from chatbot.types import Chunk


def test_equal_weights_match_plain_rrf():
    rankings = [[1, 2, 3], [3, 2, 1]]
    assert reciprocal_rank_fusion(rankings) == reciprocal_rank_fusion(rankings, weights=[1.0, 1.0])


def test_a_small_weight_makes_the_second_list_a_tie_breaker():
    dense, bm25 = [10, 11, 12], [12, 11, 10]
    assert reciprocal_rank_fusion([dense, bm25], 60)[0] in (10, 12)  # equal weights: a near tie
    assert reciprocal_rank_fusion([dense, bm25], 60, [1.0, 0.15]) == [10, 11, 12]
    # ...but it still breaks ties among ids the first list does not rank
    assert reciprocal_rank_fusion([[1], [3, 2]], 60, [1.0, 0.15]) == [1, 3, 2]


def test_threshold_depends_on_the_question_language():
    config = Config(refusal_threshold=0.8, refusal_threshold_cross_lingual=0.7, corpus_language="id")
    assert config.threshold_for("id") == 0.8
    assert config.threshold_for("en") == 0.7


def _retriever(texts, ngram_weight):
    chunks = [Chunk(f"c{i}", f"a{i}", "", "", "", t, 0, len(t)) for i, t in enumerate(texts)]
    embedder = HashEmbedder()
    vectors = embedder.embed_documents(texts)
    return Retriever.build(embedder, chunks, vectors, VectorIndex.build(vectors), corpus_language="id",
                           cross_lingual_ngram_weight=ngram_weight)


TEXTS = ["Delegasi Rusia dipimpin oleh Alexander Gutsan di Hanoi.",
         "Upacara penandatanganan berlangsung meriah di Hanoi.",
         "Sebanyak 21 negara Afrika ikut menandatangani di Hanoi.",
         "Cuaca di Hanoi cerah sepanjang pekan."]


@pytest.mark.parametrize("question", ["How many Africans were in Hanoi for the ceremony?",
                                      "Did Africa sign?"])
def test_character_ngrams_join_the_fusion_for_questions_in_another_language_only(question):
    strong, off = _retriever(TEXTS, 5.0), _retriever(TEXTS, 0.0)
    assert off.ngrams is None
    assert off.search(question, 1, language="en")[0].chunk.chunk_id != "c2"  # no word matches "Afrika"
    assert strong.search(question, 1, language="en")[0].chunk.chunk_id == "c2"  # "_af", "afr", "fri", ...
    # A question in the articles' language never sees the trigram list.
    same = [h.chunk.chunk_id for h in strong.search(question, 4, language="id")]
    assert same == [h.chunk.chunk_id for h in off.search(question, 4, language="id")]
    # Scores stay cosine similarities whatever fused the ranking (the refusal threshold needs them).
    hit = strong.search(question, 1, language="en")[0]
    assert hit.score == pytest.approx(strong.similarities(question, [hit.chunk])[0])
