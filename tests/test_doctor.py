"""chatbot doctor and what it builds on: CPU facts, the bandwidth limit, the repack tuning record."""

from __future__ import annotations

import pytest

from chatbot import cli
from chatbot.config import Config
from chatbot.doctor import doctor, index_state, run_probe
from chatbot.generation import hardware, tuning
from chatbot.generation.hardware import Bandwidth, cpu_info, decode_limit

CPUINFO = """processor\t: 0
model name\t: Example CPU 9000
flags\t\t: fpu sse4_2 avx avx2 fma avx512f amx_tile amx_int8 hypervisor
"""


def test_cpu_info_reads_the_model_flags_and_fingerprint(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    cpu = cpu_info(path)
    assert cpu.model == "Example CPU 9000" and cpu.hypervisor
    assert cpu.simd == ("sse4_2", "avx", "avx2", "fma", "avx512f", "amx_tile", "amx_int8")
    path.write_text(CPUINFO.replace(" amx_tile amx_int8", ""))
    other = cpu_info(path)
    assert other.fingerprint != cpu.fingerprint  # another CPU, another build
    assert cpu_info(tmp_path / "missing").model  # never fails: falls back to the platform's name


def test_decode_limit_is_bandwidth_over_model_bytes():
    assert decode_limit(Bandwidth(20.0, 2, 1024), 2_000_000_000) == pytest.approx(10.0)


def test_read_bandwidth_is_measured_and_positive():
    bw = hardware.measure_read_bandwidth(1, buffer_mb=64, seconds=0.1)
    assert bw.gb_per_s > 0.1 and bw.threads == 1


def test_repack_setting_resolves_from_the_record_of_this_build(tmp_path, monkeypatch):
    assert tuning.resolve_repack("on", tmp_path, "b1") is True
    assert tuning.resolve_repack("off", tmp_path, "b1") is False
    assert tuning.resolve_repack("auto", tmp_path, "b1") is True  # nothing measured: llama.cpp's default
    tuning.save_tuning(tmp_path, tuning.Tuning("b1", False, 27.5, 20.5))
    assert tuning.resolve_repack("auto", tmp_path, "b1") is False
    assert tuning.resolve_repack("auto", tmp_path, "b2") is True  # measured with another build: ignored
    assert tuning.resolve_repack("auto", tmp_path, None) is True
    tuning.tuning_path(tmp_path).write_text("{not json")
    assert tuning.resolve_repack("auto", tmp_path, "b1") is True


def test_typical_answer_cost_weighs_prompt_and_decode():
    assert tuning.answer_seconds(100.0, 10.0) == pytest.approx(1000 / 100 + 60 / 10)


def test_doctor_reports_a_missing_model_file_and_index_and_fails(tmp_path, fake_config):
    config = fake_config.with_(generator=f"llama-cpp:{tmp_path / 'nope.gguf'}", index_dir=tmp_path / "none")
    lines: list[str] = []
    assert doctor(config, out=lines.append) == 1
    text = "\n".join(lines)
    assert "CPU:" in text and "SIMD:" in text
    assert "nope.gguf: missing" in text and "missing in" in text
    assert "PROBLEM:" in text and "verdict:    OK" not in text


def test_index_state_says_up_to_date_then_stale(fake_config):
    from chatbot.embedders import make_embedder
    from chatbot.search.indexing import ensure_index

    ensure_index(fake_config, make_embedder("fake", 1), progress=False)
    assert "up to date" in index_state(fake_config)
    (fake_config.corpus_dir / "d_new.txt").write_text("Artikel baru\nIsi artikel baru tentang Hanoi.\n")
    assert "stale" in index_state(fake_config)
    (fake_config.index_dir / "manifest.json").write_text("{")
    assert "corrupt" in index_state(fake_config)


def test_a_probe_that_fails_is_diagnosed_with_its_exit(tmp_path):
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file")
    result, failure = run_probe(bad, 1, 0.1)
    assert result is None and failure.startswith("llama.cpp stopped with exit code 1")


def test_doctor_is_a_cli_command():
    args = cli.build_parser().parse_args(["doctor", "--tune", "--seconds", "3"])
    assert args.command == "doctor" and args.tune and args.seconds == 3.0


@pytest.mark.model
def test_doctor_on_this_machine_runs_the_bundled_model_without_amx(capsys):
    assert doctor(Config(), seconds=2.0, out=print) == 0
    out = capsys.readouterr().out
    assert "verdict:    OK" in out and "AMX" not in out.split("buffers:")[1].splitlines()[0]
    assert "tokens/s =" in out and "% of this CPU's limit" in out
