"""Follow-up questions: decide whether a question leans on the previous turn, and what to search for.

"Siapa ketua komite negosiasi?" then "Apa yang dia sampaikan?": the second question names nobody, so it is
searched together with the previous question and the previous answer (which names the person). A question
that stands on its own - it has its own content words and no pronoun or continuation pointing back - is
searched alone, so an unrelated new question is not polluted by the conversation. This is a rule, not a
model call: it costs no time to first token. It does not rewrite the question shown to the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.text import FUNCTION_WORDS, TOPICLESS_WORDS, strip_citations
from chatbot.types import Turn

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Words that point back at something said before.
_ANAPHORA = frozenset(
    ["dia", "ia", "beliau", "mereka", "nya", "itu", "tersebut", "sana", "situ", "begitu", "demikian", "tadi",
     "hal", "he", "she", "him", "her", "his", "hers", "they", "them", "their", "it", "its", "that", "those",
     "there", "this", "these"]
)
# Words ending in "-nya" that do not point back ("-nya" usually does: "perannya" = "his role").
_NOT_ANAPHORIC = frozenset(
    ["lainnya", "sebelumnya", "selanjutnya", "berikutnya", "akhirnya", "biasanya", "umumnya"])
# Openers that continue the previous question ("and ...?", "what about ...?").
_CONTINUATIONS = (
    "dan ", "lalu ", "kemudian ", "bagaimana dengan ", "selain itu", "terus ", "juga ",
    "and ", "what about ", "how about ", "also ", "then ", "what else", "anything else",
)
# Words that carry no topic on their own (function words, question words and fillers of both languages).
_TOPICLESS = FUNCTION_WORDS["id"] | FUNCTION_WORDS["en"] | TOPICLESS_WORDS
_WORDS_FROM_ANSWER = 40  # enough to carry the names in a short answer, not to drown the question


def is_follow_up(question: str) -> bool:
    q = question.strip().lower()
    words = _WORD.findall(q)
    if any(w in _ANAPHORA or (w.endswith("nya") and len(w) > 5 and w not in _NOT_ANAPHORIC) for w in words):
        return True
    if q.startswith(_CONTINUATIONS):
        return True
    content = [w for w in words if w not in _TOPICLESS]
    return len(content) == 0


def search_query(question: str, history: Sequence[Turn]) -> str:
    """What to retrieve with: the question alone, or for a follow-up the previous exchange plus it."""
    if not history or not is_follow_up(question):
        return question.strip()
    prev = history[-1]
    base = prev.search_query or prev.question
    answer_words = strip_citations(prev.answer).split()[:_WORDS_FROM_ANSWER]
    return " ".join([base, " ".join(answer_words), question.strip()]).strip()


def previous_turn(question: str, history: Sequence[Turn]) -> Turn | None:
    """The turn the prompt should show the model: the last one, for follow-ups only."""
    return history[-1] if history and is_follow_up(question) else None
