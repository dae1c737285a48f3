"""Stage 3, answer: from the question and its passages to a prompt, and from the model's text to a
checked, cited answer.

- ``language.py``        Indonesian/English detection
- ``history.py``         follow-up detection and the search query for a follow-up
- ``prompting.py``       the chat messages from ``prompts/*.toml`` (package data)
- ``excerpts.py``        speed mode: passages shortened to their sentences closest to the question
- ``citations.py``       parse and validate ``[n]`` citations
- ``grounding.py``       check citations against the passages' names and numbers
- ``windows.py``, ``window_states.py``  window mode: article windows as saved prompt prefixes

May import ``ingest`` and ``search``; imports nothing from ``web``; ``tests/test_import_direction.py``
checks it.
"""
