"""Language-aware fusion weights and refusal thresholds."""

from __future__ import annotations

from chatbot.config import Config
from chatbot.retrieval import reciprocal_rank_fusion


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
