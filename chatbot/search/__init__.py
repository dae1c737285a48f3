"""Stage 2, search: index the chunks and find the passages for a question.

- ``bm25.py``          BM25 over Indonesian-aware tokens
- ``vector_index.py``  FAISS flat / HNSW / IVF behind one small class
- ``store.py``         save/load ``index/`` (manifest, chunks, vectors, faiss file) with checks
- ``indexing.py``      ``ensure_index``: load, rebuild or update incrementally
- ``retrieval.py``     ``Retriever``: dense, BM25, hybrid (weighted reciprocal rank fusion)
- ``relevance.py``     the relevance gate's measure: margin over a nonsense baseline, rare terms

May import ``ingest``; imports nothing from the later stages (``answer``, ``web``, ``pipeline``);
``tests/test_import_direction.py`` checks it.
"""
