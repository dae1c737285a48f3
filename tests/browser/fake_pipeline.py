"""A fake of ``chatbot.pipeline.Pipeline`` for the UI tests: canned articles, word-overlap retrieval, scripted
answers streamed word by word, and failures on demand.

It implements the same four methods the app uses (``stream``, ``ask``, ``info``, ``article``) with the
same event order and errors, and reuses the real citation parser, language detector and refusal texts,
so the UI is tested against the contract rather than against this fake's shortcuts. It records every
call (question and history) so a test can check what the UI passed in. It is not a retriever or a model:
the answers are whatever the script says.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from chatbot.answer.citations import citations_for, parse_citations
from chatbot.answer.language import detect_language
from chatbot.answer.prompting import load_prompts
from chatbot.boundary import prepare_question
from chatbot.types import (
    Answer,
    Article,
    Chunk,
    Done,
    Event,
    Hit,
    PipelineInfo,
    Retrieved,
    Timings,
    Token,
    Turn,
)

SIGNING_TEXT = (
    "Upacara penandatanganan Konvensi Hanoi\n"
    "Upacara penandatanganan Konvensi PBB tentang Pemberantasan Kejahatan Siber diselenggarakan di Hanoi "
    "pada 25 Oktober 2025.\n"
    "Sebanyak 72 negara menandatangani Konvensi Hanoi pada hari pertama upacara penandatanganan.\n"
    "Lebih dari 2.500 delegasi dari 119 negara hadir, termasuk Sekretaris Jenderal PBB António Guterres.\n"
    "Vietnam dipuji atas perannya sebagai tuan rumah yang aktif."
)
RUSSIA_TEXT = (
    "Delegasi Rusia di Hanoi\n"
    "Delegasi Rusia dipimpin oleh Jaksa Agung Alexander Gutsan.\n"
    "Rusia adalah salah satu negara yang memprakarsai konvensi ini pada tahun 2019.\n"
    'Catatan redaksi: <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
    "teks ini harus tampil sebagai teks biasa.\n"
    "Rusia juga mengadakan diskusi meja bundar tentang peningkatan kapasitas."
)
COMMITTEE_TEXT = (
    "Komite negosiasi\n"
    "Duta Besar Faouzia Boumaiza Mebarki adalah ketua komite negosiasi konvensi.\n"
    "Ia menyampaikan terima kasih kepada negara-negara anggota atas kerja sama tim selama lima tahun."
)


def _article(article_id: str, title: str, url: str, text: str, date: str | None = None) -> Article:
    publisher = re.sub(r"^https?://([^/]+).*$", r"\1", url)
    return Article(
        article_id, title, url, publisher, date, text, f"corpus/{article_id}.txt", f"hash-{article_id}"
    )


CANNED_ARTICLES: tuple[Article, ...] = (
    _article(
        "001_signing",
        "Konvensi Hanoi ditandatangani 72 negara",
        "https://example.vn/signing",
        SIGNING_TEXT,
        "2025-10-26",
    ),
    _article(
        "002_russia",
        "Rusia <b>memuji</b> penyelenggaraan Konvensi Hanoi",
        "https://example.ru/russia",
        RUSSIA_TEXT,
    ),
    _article(
        "003_committee",
        "Ketua komite negosiasi berterima kasih",
        "https://example.org/committee",
        COMMITTEE_TEXT,
    ),
)


def paragraph_chunks(article: Article) -> list[Chunk]:
    """One chunk per non-empty line, with exact offsets into the article text."""
    chunks, offset = [], 0
    for line in article.text.split("\n"):
        if line.strip():
            chunks.append(
                Chunk(
                    f"{article.article_id}#{offset}",
                    article.article_id,
                    article.title,
                    article.url,
                    article.publisher,
                    line,
                    offset,
                    offset + len(line),
                )
            )
        offset += len(line) + 1
    return chunks


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    [
        "apa",
        "siapa",
        "berapa",
        "kapan",
        "yang",
        "di",
        "the",
        "a",
        "an",
        "of",
        "who",
        "what",
        "when",
        "how",
        "was",
        "is",
        "did",
    ]
)


# A few English words mapped to the articles' Indonesian, so English questions find passages too.
_EN_ID = {
    "russian": "rusia",
    "delegation": "delegasi",
    "led": "dipimpin",
    "signing": "penandatanganan",
    "ceremony": "upacara",
    "held": "diselenggarakan",
    "committee": "komite",
    "chair": "ketua",
    "countries": "negara",
    "signed": "menandatangani",
}


def _words(text: str) -> set[str]:
    words = (w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2)
    return {_EN_ID.get(w, w) for w in words}


# Question substring -> reply. ``REFUSE`` makes the model say it found nothing.
REFUSE = "NOT FOUND"
DEFAULT_SCRIPT: Mapping[str, str] = {
    "berapa negara": "Sebanyak 72 negara menandatangani Konvensi Hanoi [1].",
    "russian delegation": "The Russian delegation was led by Prosecutor General Alexander Gutsan [1].",
    "ketua komite": "Ketua komite negosiasi adalah Duta Besar Faouzia Boumaiza Mebarki [1].",
    "signing ceremony held": "The signing ceremony was held in Hanoi on 25 October 2025 [1][3].",
    "script": "Catatan redaksi itu berisi <script>window.__pwned = 3</script> sebagai teks [1].",
    "mars": REFUSE,
}


@dataclass
class FakePipeline:
    """Scripted stand-in for ``Pipeline``; thread-safe, holds no per-user state besides its call log."""

    articles: Sequence[Article] = CANNED_ARTICLES
    script: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SCRIPT))
    fail_on: Mapping[str, Exception] = field(
        default_factory=dict
    )  # question substring -> raised after Retrieved
    token_delay_s: float = 0.02
    top_k: int = 3
    reply: Callable[[str, Sequence[Hit]], str] | None = None  # overrides ``script`` when set
    info_error: Exception | None = None

    def __post_init__(self) -> None:
        self._by_id = {a.article_id: a for a in self.articles}
        self._chunks = [c for a in self.articles for c in paragraph_chunks(a)]
        self._lock = threading.Lock()
        self.calls: list[tuple[str, tuple[Turn, ...]]] = []

    # --- the Pipeline API -----------------------------------------------------------------------------

    def info(self) -> PipelineInfo:
        if self.info_error is not None:
            raise self.info_error
        return PipelineInfo(
            embedder="fake-embedder",
            generator="fake-generator",
            retrieval="hybrid",
            n_articles=len(self.articles),
            n_chunks=len(self._chunks),
            index_dir="(memory)",
        )

    def article(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream ended without Done")

    def load(self, notify: Callable[[str], None] | None = None) -> None:
        """Nothing to load; ``app.main`` calls it before serving."""

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Event]:
        prepared = prepare_question(question, 2000)  # the real input boundary: InputError when empty
        with self._lock:
            self.calls.append((question, tuple(history)))
        return self._stream(prepared.text, tuple(history))

    # --- internals ------------------------------------------------------------------------------------

    def search(self, query: str) -> list[Hit]:
        q = _words(query)
        scored = [(len(q & _words(c.text + " " + c.title)), i, c) for i, c in enumerate(self._chunks)]
        scored = [s for s in scored if s[0] > 0]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [
            Hit(c, float(score), rank) for rank, (score, _, c) in enumerate(scored[: self.top_k], start=1)
        ]

    def _reply_for(self, question: str, hits: Sequence[Hit]) -> str:
        if self.reply is not None:
            return self.reply(question, hits)
        lowered = question.lower()
        for key, reply in self.script.items():
            if key in lowered:
                return reply
        if not hits:
            return REFUSE
        return f"{hits[0].chunk.text} [1]"

    def _stream(self, question: str, history: tuple[Turn, ...]) -> Iterator[Event]:
        t0 = time.perf_counter()
        language = detect_language(question)
        prompts = load_prompts(language)
        query = question if not history else f"{history[-1].question} {question}"
        hits = tuple(self.search(query))
        yield Retrieved(hits, language, query)
        for key, error in self.fail_on.items():
            if key in question.lower():
                raise error
        raw = self._reply_for(question, hits)
        if raw.strip().upper().startswith(REFUSE) or not hits:
            yield Token(prompts.refusal)
            yield Done(
                Answer(
                    question=question,
                    language=language,
                    text=prompts.refusal,
                    refused=True,
                    hits=hits,
                    search_query=query,
                    timings_ms=Timings(1.0, None, (time.perf_counter() - t0) * 1000),
                )
            )
            return
        first = None
        for piece in re.findall(r"\S+\s*", raw):
            if self.token_delay_s:
                time.sleep(self.token_delay_s)
            first = first if first is not None else (time.perf_counter() - t0) * 1000
            yield Token(piece)
        parsed = parse_citations(raw, len(hits))
        yield Done(
            Answer(
                question=question,
                language=language,
                text=parsed.text,
                refused=False,
                citations=citations_for(parsed.numbers, hits),
                hits=hits,
                search_query=query,
                timings_ms=Timings(1.0, first, (time.perf_counter() - t0) * 1000),
                prompt_tokens=100,
            )
        )
