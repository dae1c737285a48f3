"""Shared fixtures: a network blocker, small corpora, and a config wired to the fakes.

Fast tests use the deterministic hash embedder ("fake") and scripted generators; tests that load real
models are marked ``model``, browser tests ``browser`` (both deselected by default; ``pytest -m ""``
runs all).
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from chatbot.config import Config

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


@pytest.fixture(autouse=True)
def _block_network(monkeypatch):
    """Tests may talk to this machine only; any other address fails loudly."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = host == "localhost"
            if not ok:
                raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


TINY_ARTICLES = {
    "a_signing.txt": (
        "Upacara penandatanganan Konvensi Hanoi\n"
        "Konvensi Hanoi ditandatangani oleh 72 negara di Hanoi pada 25 Oktober 2025. "
        "Lebih dari 2.500 delegasi dari 119 negara hadir.\n\n"
        "Sekretaris Jenderal PBB António Guterres berpidato pada upacara pembukaan.\n"
        "Sumber: https://example.vn/signing"
    ),
    "b_committee.txt": (
        "Komite negosiasi\n"
        "Duta Besar Faouzia Boumaiza Mebarki adalah ketua komite negosiasi konvensi. "
        "Ia menyampaikan rasa terima kasih kepada negara-negara anggota atas kerja sama tim.\n"
        "Sumber: https://example.org/committee"
    ),
    "c_russia.txt": (
        "Delegasi Rusia\n"
        "Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan. "
        "Rusia mengadakan diskusi meja bundar tentang peningkatan kapasitas.\n"
        "Sumber: https://example.ru/russia"
    ),
}


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TINY_ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def fake_config(tmp_path, tiny_corpus) -> Config:
    """Fake embedder and generator over the tiny corpus, index in a temp folder."""
    return Config(corpus_dir=tiny_corpus, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                  embedder="fake", generator="fake", refusal_threshold=0.05,
                  refusal_threshold_cross_lingual=0.05, threads=1)


@pytest.fixture
def real_corpus_fake_models(tmp_path) -> Config:
    """The real five articles with the fake embedder and generator."""
    return Config(corpus_dir=CORPUS, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                  embedder="fake", generator="fake", refusal_threshold=0.05,
                  refusal_threshold_cross_lingual=0.05, threads=1)
