"""The batch JSON contract with the fake models."""

from __future__ import annotations

import json

import pytest

from chatbot.batch import parse_line, run_batch, write_results
from chatbot.embedders.fake import HashEmbedder
from chatbot.errors import InputError
from chatbot.generation.fake import ScriptedGenerator
from chatbot.pipeline import Pipeline

KEYS = {"id", "question", "language", "answer", "refused", "citations", "retrieved", "timings_ms"}
CITATION_KEYS = {"n", "chunk_id", "article_id", "title", "url", "text", "start", "end"}
RETRIEVED_KEYS = {"rank", "chunk_id", "article_id", "score", "text"}


def test_parse_line_forms_and_errors():
    assert parse_line('{"id": "a", "question": "Q?"}', 1).turns == ("Q?",)
    assert parse_line('{"id": 7, "turns": ["A?", "B?"]}', 2).id == 7  # ids stay what they were
    with pytest.raises(InputError, match="line 3"):
        parse_line("{not json", 3)
    with pytest.raises(InputError, match="line 4"):
        parse_line('{"id": "x"}', 4)
    with pytest.raises(InputError, match="line 5"):
        parse_line('{"turns": []}', 5)


def test_batch_contract_order_errors_and_turns(fake_config, tmp_path):
    gen = ScriptedGenerator(["72 negara [1].", "Mebarki [1].", "Ia berterima kasih [1].",
                             RuntimeError("boom")])
    pipe = Pipeline(fake_config, embedder=HashEmbedder(), generator=gen)
    lines = [
        '{"id": "q1", "question": "Berapa negara yang menandatangani Konvensi Hanoi?"}',
        "this is not json",
        "",
        '{"id": "q2", "turns": ["Siapa ketua komite negosiasi?", "Apa yang dia sampaikan?"]}',
        '{"id": "q3", "question": "Berapa delegasi yang hadir?"}',
    ]
    results = list(run_batch(pipe, lines, progress=False))
    assert [r["id"] for r in results] == ["q1", None, None, "q2", "q3"]  # one result per line, blank too
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5]
    assert "blank" in results.pop(2)["error"]
    ok = results[0]
    assert KEYS <= set(ok) and ok["language"] == "id" and ok["refused"] is False
    assert set(ok["citations"][0]) == CITATION_KEYS
    assert set(ok["retrieved"][0]) == RETRIEVED_KEYS
    assert set(ok["timings_ms"]) == {"retrieve", "first_token", "total"}
    assert "line 2" in results[1]["error"]
    assert results[2]["question"] == "Apa yang dia sampaikan?"
    assert results[2]["answer"].startswith("Ia berterima kasih")
    assert "error" in results[3] and results[3]["id"] == "q3"
    assert len(gen.calls) == 4  # one model, used for every item and turn

    out = tmp_path / "out.jsonl"
    with out.open("w") as fh:
        errors = write_results(results, fh)
    assert errors == 2
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["q1", None, "q2", "q3"]
