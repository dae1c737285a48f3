"""The whole vocabulary of the chatbot: a few frozen dataclasses passed between modules.

Derive changed copies with ``dataclasses.replace``; never pass ad-hoc dicts between modules.
JSON conversion lives next to the type (``to_dict`` / ``from_dict``) so the on-disk and batch
formats stay in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Language = Literal["id", "en"]


@dataclass(frozen=True)
class Article:
    """One cleaned news article."""

    article_id: str  # the file stem, e.g. "002_4d8a15c3e53d0491"
    title: str
    url: str
    publisher: str  # the domain of ``url``, e.g. "baotintuc.vn"
    date: str | None  # ISO yyyy-mm-dd when the text states one
    text: str  # the cleaned text; chunk offsets point into it
    source_path: str
    content_hash: str  # sha256 of the cleaned text and metadata


@dataclass(frozen=True)
class Chunk:
    """A passage of an article, with the character span it covers in the cleaned text."""

    chunk_id: str  # content hash of article id, text and offsets
    article_id: str
    title: str
    url: str
    publisher: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """A passage cited in an answer as ``[n]`` (1-based, as numbered in the prompt)."""

    n: int
    chunk: Chunk

    def to_dict(self) -> dict:
        c = self.chunk
        return {
            "n": self.n,
            "chunk_id": c.chunk_id,
            "article_id": c.article_id,
            "title": c.title,
            "url": c.url,
            "text": c.text,
            "start": c.start,
            "end": c.end,
        }


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent in each stage of one answer."""

    retrieve: float = 0.0
    first_token: float | None = None
    total: float = 0.0


@dataclass(frozen=True)
class Turn:
    """One finished exchange of a conversation, kept as bounded history."""

    question: str
    answer: str
    search_query: str = ""

    @classmethod
    def from_answer(cls, question: str, answer: Answer) -> Turn:
        """The turn ``answer`` finished: the question as asked, the answer's text and its search query."""
        return cls(question, answer.text, answer.search_query)


@dataclass(frozen=True)
class Answer:
    """The reply to one question: text, validated citations and what was retrieved."""

    question: str
    language: Language
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = ()
    timings_ms: Timings = field(default_factory=Timings)
    prompt_tokens: int | None = None
    search_query: str = ""
    notice: str | None = None  # e.g. "question truncated to 2000 characters"
    answer_context: str = "passages"  # "window": answered from an article window (citations number it)
    window: str | None = None  # window mode: which window, and why it was chosen
    # The lowest probability the model gave a content token of its answer (generation/confidence.py); None
    # when the generator records none or the answer is a fixed refusal.
    confidence: float | None = None

    def to_dict(self) -> dict:
        """The batch JSON contract (without ``id``, which the caller adds)."""
        out = {
            "question": self.question,
            "language": self.language,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {
                    "rank": h.rank,
                    "chunk_id": h.chunk.chunk_id,
                    "article_id": h.chunk.article_id,
                    "score": round(float(h.score), 6),
                    "text": h.chunk.text,
                }
                for h in self.hits
            ],
            "timings_ms": {
                "retrieve": round(self.timings_ms.retrieve, 1),
                "first_token": None
                if self.timings_ms.first_token is None
                else round(self.timings_ms.first_token, 1),
                "total": round(self.timings_ms.total, 1),
            },
            "prompt_tokens": self.prompt_tokens,
            "search_query": self.search_query,
        }
        if self.notice:
            out["notice"] = self.notice
        if self.answer_context != "passages" or self.window:
            out["answer_context"] = self.answer_context
            out["window"] = self.window
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


@dataclass(frozen=True)
class Retrieved:
    """Stream event: retrieval is done; the sources can be shown before the model answers."""

    hits: tuple[Hit, ...]
    language: Language
    search_query: str


@dataclass(frozen=True)
class Token:
    """Stream event: a piece of the answer text."""

    text: str


@dataclass(frozen=True)
class Restart:
    """Stream event: the text streamed so far is dropped; the answer streams again from the start (window
    mode was not sure of its answer and answers from the best passages instead)."""

    reason: str


@dataclass(frozen=True)
class Done:
    """Stream event, always last: the final, validated answer."""

    answer: Answer


Event = Retrieved | Token | Restart | Done


@dataclass(frozen=True)
class PipelineInfo:
    """What the UI's status line and the reports say about the models and index in use."""

    embedder: str
    generator: str
    retrieval: str
    n_articles: int
    n_chunks: int
    index_dir: str
    warnings: tuple[str, ...] = ()  # files skipped when the index was loaded, and why
