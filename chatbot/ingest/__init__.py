"""Stage 1, ingest: read the article files, clean them and cut them into chunks.

- ``cleaning.py``  boilerplate removal and metadata extraction for one article
- ``corpus.py``    read ``corpus/`` with clear warnings for bad files; corpus hash
- ``chunking.py``  token-bounded, sentence-aware chunks with character offsets

Imports nothing from the later stages (``search``, ``answer``, ``web``, ``pipeline``);
``tests/test_import_direction.py`` checks it.
"""
