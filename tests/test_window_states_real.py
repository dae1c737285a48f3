"""Window mode with the bundled model: a prefix state saved by one model process and restored by another
gives the very answer that evaluating the prefix afresh gives. Marked ``model`` (loads the GGUF twice)."""

from __future__ import annotations

import pytest

from chatbot.answer.windows import cut_windows, window_prefix, window_suffix
from chatbot.config import Config
from chatbot.generation.supervised import SupervisedGenerator
from chatbot.types import Chunk

pytestmark = pytest.mark.model

TEXTS = [
    "Konvensi Hanoi ditandatangani oleh 72 negara di Hanoi pada 25 Oktober 2025.",
    "Lebih dari 2.500 delegasi dari 119 negara dan wilayah menghadiri upacara penandatanganan.",
    "Delegasi Rusia dipimpin oleh Jaksa Agung Federasi Rusia, Alexander Gutsan.",
]


def _window():
    chunks, start = [], 0
    for i, text in enumerate(TEXTS):
        chunks.append(Chunk(f"c{i}", "a1", "Upacara penandatanganan Konvensi Hanoi", "https://example.vn/a",
                            "example.vn", text, start, start + len(text)))
        start += len(text) + 1
    return cut_windows([], chunks, 3200)[0]


def test_state_saved_in_one_process_restored_in_another_answers_identically(tmp_path):
    config = Config(answer_context="window", max_new_tokens=40)
    prefix = window_prefix(_window())
    suffix = window_suffix("Siapa yang memimpin delegasi Rusia?", "id", (3,))
    first = SupervisedGenerator("llama-cpp", config)
    try:
        fresh = "".join(first.stream_with_prefix(prefix, suffix, None, max_tokens=40))
        stats = first.save_prefix_state(prefix, tmp_path / "w.state")
    finally:
        first.close()
    assert stats["tokens"] > 50
    assert (tmp_path / "w.state").stat().st_size == stats["bytes"]
    assert stats["bytes"] < 40_000 * stats["tokens"]  # KV cache and tokens only, no logits array
    second = SupervisedGenerator("llama-cpp", config)
    try:
        restored = "".join(second.stream_with_prefix(prefix, suffix, tmp_path / "w.state", max_tokens=40))
        used = second.last_stats
        p_yes = second.yes_probability(prefix, "Question: Who led the Russian delegation?\nDoes the article "
                                               "state the answer to this question? Reply with one word: yes "
                                               "or no.",
                                       tmp_path / "w.state")
    finally:
        second.close()
    assert restored == fresh
    assert "Gutsan" in restored
    assert used["cached_tokens"] == stats["tokens"]  # the prefix was restored, not read again
    assert 0.0 <= p_yes <= 1.0
