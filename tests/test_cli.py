"""The command line with the fake models: output, JSON, batch and error exits (never a traceback)."""

from __future__ import annotations

import json

import pytest

from chatbot.cli import build_parser, main


def base_args(config):
    return ["--corpus", str(config.corpus_dir), "--index", str(config.index_dir), "--embedder", "fake",
            "--generator", "fake", "--threads", "1", "--refusal-threshold", "0.05"]


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("index", "search", "ask", "chat", "eval"):
        assert command in out
    for action in build_parser()._subparsers._group_actions[0].choices["ask"]._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"--{action.dest} has no help text"


def test_index_then_search(fake_config, capsys):
    assert main(["index", *base_args(fake_config)]) == 0
    out = capsys.readouterr().out
    assert "3 articles" in out and "passages" in out
    assert main(["search", "Gutsan", "--k", "2", "--json", *base_args(fake_config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hits"][0]["article_id"] == "c_russia" and len(data["hits"]) == 2


def test_ask_json(fake_config, capsys):
    assert main(["ask", "--json", "Siapa yang memimpin delegasi Rusia?", *base_args(fake_config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["language"] == "id" and data["citations"]


def test_ask_streams_text_and_sources(fake_config, capsys):
    assert main(["ask", "Who led the Russian delegation?", *base_args(fake_config)]) == 0
    out = capsys.readouterr().out
    assert "Sources:" in out and "[1]" in out


def test_empty_question_is_a_clear_error(fake_config, capsys):
    assert main(["ask", "  ", *base_args(fake_config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "empty" in err and "Traceback" not in err


def test_batch_with_a_malformed_line(fake_config, tmp_path, capsys):
    batch = tmp_path / "in.jsonl"
    batch.write_text('{"id": "a", "question": "Siapa Gutsan?"}\n{oops\n', encoding="utf-8")
    assert main(["ask", "--batch", str(batch), *base_args(fake_config)]) == 1
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows[0]["id"] == "a" and "answer" in rows[0]
    assert "line 2" in rows[1]["error"]


def test_missing_batch_file_and_unknown_embedder(fake_config, tmp_path, capsys):
    assert main(["ask", "--batch", str(tmp_path / "nope.jsonl"), *base_args(fake_config)]) == 2
    assert "Cannot read" in capsys.readouterr().err
    args = base_args(fake_config)
    args[args.index("--embedder") + 1] = "word2vec"
    assert main(["search", "x", *args]) == 2
    assert "error:" in capsys.readouterr().err


def test_passage_budget_flag_reaches_the_config_and_rejects_negatives(fake_config, capsys):
    from chatbot.cli import config_from_args

    args = build_parser().parse_args(["ask", "q", "--passage-budget", "1500", *base_args(fake_config)])
    assert config_from_args(args).passage_budget_chars == 1500
    assert main(["ask", "--json", "--passage-budget", "200", "Siapa yang memimpin delegasi Rusia?",
                 *base_args(fake_config)]) == 0
    assert json.loads(capsys.readouterr().out)["citations"]
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["ask", "q", "--passage-budget", "-1"])
    assert exit_info.value.code == 2
    assert "must be a whole number from 0 to 20000, got '-1'" in capsys.readouterr().err
