"""Validate the hand-written evaluation data in eval/: qa.jsonl and retrieval.jsonl.

Checks the schema (ragas-style field names), unique ids, the minimum counts per language, type, article
and split, and that every gold quote is copied verbatim from the article it names, both in the raw file
(corpus/<id>.txt) and in the cleaned text that ``chatbot.ingest.corpus.load_corpus`` produces (so chunk
offsets and citations can point at it). Keyword groups of answerable items must be satisfied by the
reference answer itself, so a keyword scorer cannot fail the reference.

Deliberately not checked: whether the reference answers are correct (a person wrote them from the
articles), or anything about a model's answers.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from chatbot.ingest.corpus import load_corpus

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "eval"
CORPUS = REPO / "corpus"

QA_TYPES = {"number", "date", "person", "place", "why", "what_said", "multi_passage", "paraphrase",
            "unanswerable", "follow_up"}
QA_FIELDS = {"id": str, "language": str, "type": str, "user_input": str, "reference": str, "keywords": list,
             "reference_contexts": list, "article_ids": list, "answerable": bool, "split": str}
RETRIEVAL_FIELDS = {"id": str, "language": str, "query": str, "article_id": str, "evidence": str, "type": str}
LANGUAGES = {"id", "en"}
SPLITS = {"dev", "heldout", "heldout2"}
BOILERPLATE = ("Komentar (", "Sumber:", ".jpg", "No data", "TONTON VIDEONYA")
MAX_EVIDENCE_CHARS = 150


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise AssertionError(f"{path.name} line {n} is not valid JSON: {err}") from err
    return rows


@lru_cache(maxsize=1)
def _qa_main() -> tuple[dict, ...]:
    return tuple(_read_jsonl(EVAL / "qa.jsonl"))


@lru_cache(maxsize=1)
def _qa() -> tuple[dict, ...]:
    """qa.jsonl and the second held-out split (qa_heldout2.jsonl), checked by the same rules."""
    return _qa_main() + tuple(_read_jsonl(EVAL / "qa_heldout2.jsonl"))


@lru_cache(maxsize=1)
def _retrieval() -> tuple[dict, ...]:
    return tuple(_read_jsonl(EVAL / "retrieval.jsonl"))


@lru_cache(maxsize=1)
def _raw_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}


@lru_cache(maxsize=1)
def _clean_texts() -> dict[str, str]:
    return {a.article_id: a.text for a in load_corpus(CORPUS).articles}


def _check_fields(row: dict, fields: dict[str, type]) -> list[str]:
    errors = []
    for name, kind in fields.items():
        if name not in row:
            errors.append(f"{row.get('id', '?')}: missing field {name!r}")
        elif not isinstance(row[name], kind):
            errors.append(f"{row.get('id', '?')}: {name!r} should be {kind.__name__}, "
                          f"got {type(row[name]).__name__}")
    return errors


# --------------------------------------------------------------------------- qa.jsonl: schema


def test_qa_fields_and_types():
    errors = []
    for row in _qa():
        errors += _check_fields(row, QA_FIELDS)
        extra = set(row) - set(QA_FIELDS) - {"turns"}
        if extra:
            errors.append(f"{row['id']}: unknown fields {sorted(extra)}")
    assert not errors, "\n".join(errors)


def test_qa_values_are_consistent():
    errors = []
    for row in _qa():
        rid = row["id"]
        if row["language"] not in LANGUAGES:
            errors.append(f"{rid}: language {row['language']!r}")
        if not rid.startswith(row["language"] + "-"):
            errors.append(f"{rid}: id should start with its language")
        if row["type"] not in QA_TYPES:
            errors.append(f"{rid}: type {row['type']!r}")
        if row["split"] not in SPLITS:
            errors.append(f"{rid}: split {row['split']!r}")
        if not row["user_input"].strip() or not row["reference"].strip():
            errors.append(f"{rid}: empty question or reference")
        if row["answerable"] != (row["type"] != "unanswerable"):
            errors.append(f"{rid}: answerable must be false exactly for type 'unanswerable'")
        if row["answerable"]:
            if not row["keywords"] or not row["reference_contexts"] or not row["article_ids"]:
                errors.append(f"{rid}: an answerable item needs keywords, reference_contexts and article_ids")
        elif row["keywords"] or row["reference_contexts"] or row["article_ids"]:
            errors.append(f"{rid}: an unanswerable item has no keywords, contexts or articles")
        for group in row["keywords"]:
            if (not isinstance(group, list) or not group
                    or not all(isinstance(k, str) and k.strip() for k in group)):
                errors.append(f"{rid}: keyword group {group!r} must be a non-empty list of non-empty "
                              "strings")
        if not all(isinstance(c, str) and c.strip() for c in row["reference_contexts"]):
            errors.append(f"{rid}: reference_contexts must be non-empty strings")
        if row["type"] == "multi_passage" and len(row["reference_contexts"]) < 2:
            errors.append(f"{rid}: a multi_passage item needs two quotes")
        if row["type"] == "follow_up":
            turns = row.get("turns")
            if not (isinstance(turns, list) and 2 <= len(turns) <= 3
                    and all(isinstance(t, str) for t in turns)):
                errors.append(f"{rid}: turns must be a list of 2-3 questions")
            elif turns[-1] != row["user_input"]:
                errors.append(f"{rid}: the last turn must equal user_input")
        elif "turns" in row:
            errors.append(f"{rid}: only follow_up items have turns")
    assert not errors, "\n".join(errors)


def test_ids_are_unique():
    for rows, name in ((_qa(), "qa"), (_retrieval(), "retrieval")):
        dupes = [k for k, n in Counter(r["id"] for r in rows).items() if n > 1]
        assert not dupes, f"duplicate ids in {name}.jsonl: {dupes}"


# --------------------------------------------------------------------------- qa.jsonl: counts


def test_qa_counts_meet_the_minimums():
    rows = _qa()
    langs = Counter(r["language"] for r in rows)
    types = Counter(r["type"] for r in rows)
    assert len(rows) >= 110
    assert langs["id"] >= 45 and langs["en"] >= 45, langs
    assert types["unanswerable"] >= 14, types
    assert types["follow_up"] >= 10, types
    assert set(types) == QA_TYPES, f"types never used: {QA_TYPES - set(types)}"
    follow_langs = Counter(r["language"] for r in rows if r["type"] == "follow_up")
    assert follow_langs["id"] >= 3 and follow_langs["en"] >= 3, follow_langs


def test_every_article_has_enough_answerable_items():
    per_article = Counter(a for r in _qa() if r["answerable"] for a in set(r["article_ids"]))
    assert set(per_article) == set(_raw_texts()), "every corpus article must be covered"
    thin = {a: n for a, n in per_article.items() if n < 12}
    assert not thin, f"articles with fewer than 12 answerable items: {thin}"


def test_heldout_split_is_about_a_quarter_and_spread():
    rows = _qa_main()
    heldout = [r for r in rows if r["split"] == "heldout"]
    share = len(heldout) / len(rows)
    assert 0.2 <= share <= 0.3, f"heldout share {share:.2f}"
    assert {r["language"] for r in heldout} == LANGUAGES
    assert len({r["type"] for r in heldout}) >= 8, "heldout items should cover most types"


def test_required_questions_and_facts_are_present():
    rows = _qa()
    turns = [tuple(r["turns"]) for r in rows if r["type"] == "follow_up"]
    assert ("Siapa ketua komite negosiasi?", "Apa yang dia sampaikan?") in turns
    references = " ".join(r["reference"] for r in rows)
    for fact in ("72", "2.500", "119", "74/247", "40", "25-26 Oktober", "24 Desember 2024"):
        assert fact in references, f"no reference answer mentions {fact!r}"


# --------------------------------------------------------------------------- qa.jsonl: evidence and keywords


def _quote_errors(rid: str, quote: str, article_ids: list[str], texts: dict[str, str],
                  where: str) -> list[str]:
    errors = []
    if "\n" in quote:
        errors.append(f"{rid}: quote spans a line break: {quote[:60]!r}")
    if any(b in quote for b in BOILERPLATE):
        errors.append(f"{rid}: quote holds site boilerplate: {quote[:60]!r}")
    unknown = [a for a in article_ids if a not in texts]
    if unknown:
        errors.append(f"{rid}: unknown article ids {unknown} ({where})")
    elif not any(quote in texts[a] for a in article_ids):
        errors.append(f"{rid}: quote not verbatim in the {where} text of {article_ids}: {quote[:80]!r}")
    return errors


@pytest.mark.parametrize("where", ["raw", "cleaned"])
def test_reference_contexts_are_verbatim(where):
    texts = _raw_texts() if where == "raw" else _clean_texts()
    errors = []
    for row in _qa():
        for quote in row["reference_contexts"]:
            errors += _quote_errors(row["id"], quote, row["article_ids"], texts, where)
        for article in row["article_ids"]:
            if article in texts and not any(q in texts[article] for q in row["reference_contexts"]):
                errors.append(f"{row['id']}: article {article} is listed but holds none of the quotes "
                              f"({where})")
    assert not errors, "\n".join(errors)


def test_reference_answers_satisfy_their_keywords():
    errors = []
    for row in _qa():
        reference = row["reference"].lower()
        for group in row["keywords"]:
            if not any(k.lower() in reference for k in group):
                errors.append(f"{row['id']}: reference {row['reference']!r} misses keyword group {group}")
    assert not errors, "\n".join(errors)


# --------------------------------------------------------------------------- retrieval.jsonl


def test_retrieval_schema_and_counts():
    rows = _retrieval()
    errors = []
    for row in rows:
        errors += _check_fields(row, RETRIEVAL_FIELDS)
    assert not errors, "\n".join(errors)
    assert len(rows) >= 40
    langs = Counter(r["language"] for r in rows)
    assert set(langs) == LANGUAGES and min(langs.values()) >= 0.4 * len(rows), langs
    assert {r["article_id"] for r in rows} == set(_raw_texts()), \
        "every article should be the target of a check"
    queries = " ".join(r["query"] for r in rows)
    evidence = " ".join(r["evidence"] for r in rows)
    for needle in ("74/247", "Gutsan"):
        assert needle in queries, f"no retrieval query mentions {needle!r}"
    for needle in ("72 negara", "2.500 delegasi"):
        assert needle in evidence, f"no retrieval evidence holds {needle!r}"
    assert any(r["language"] == "en" and r["type"] == "cross_lingual" for r in rows)


@pytest.mark.parametrize("where", ["raw", "cleaned"])
def test_retrieval_evidence_is_verbatim_and_short(where):
    texts = _raw_texts() if where == "raw" else _clean_texts()
    errors = []
    for row in _retrieval():
        if len(row["evidence"]) > MAX_EVIDENCE_CHARS:
            errors.append(f"{row['id']}: evidence longer than {MAX_EVIDENCE_CHARS} characters")
        errors += _quote_errors(row["id"], row["evidence"], [row["article_id"]], texts, where)
    assert not errors, "\n".join(errors)


def test_second_heldout_split_has_the_mix_of_the_first_file():
    rows = [r for r in _qa() if r["split"] == "heldout2"]
    assert len(rows) == 60
    langs = Counter(r["language"] for r in rows)
    assert min(langs.values()) >= 28, langs
    assert {r["type"] for r in rows} == QA_TYPES
    assert not {r["user_input"] for r in rows} & {r["user_input"] for r in _qa_main()}, "no repeated question"
