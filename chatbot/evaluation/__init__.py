"""Score the chatbot on the hand-written eval set (``eval/qa.jsonl``, ``eval/retrieval.jsonl``).

- ``dataset.py``    load and validate the eval files into ``EvalItem`` / ``RetrievalCheck``; filter by split
- ``metrics.py``    pure per-item scorers: keyword match, token F1, refusals, citation evidence, rank metrics
- ``harness.py``    ``run_eval``: ask every item through the pipeline (follow-ups as one conversation),
                    score it
- ``cache.py``      ``AnswerCache``: reuse answers under the same settings fingerprint (``--cached``)
- ``aggregate.py``  rates per split, language and type; retrieval per mode; latency; the report's JSON
- ``report.py``     the ``.md`` / ``.json`` / ``.png`` report, the terminal summary, the README table
- ``compare.py``    what changed between two saved reports
- ``replay.py``     window mode's confidence fallback replayed on two saved reports, per threshold
- ``cli.py``        the ``chatbot eval`` flags and command

Nothing here changes the pipeline or its settings; the held-out split is for the final report only.
"""
