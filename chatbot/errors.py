"""Errors the user can act on. Entry points print their message and exit non-zero, never a traceback."""

from __future__ import annotations


class ChatbotError(Exception):
    """Base class: ``str(err)`` is a complete sentence a user can read and act on."""


class CorpusError(ChatbotError):
    """The corpus folder is missing or holds no usable article."""


class IndexStoreError(ChatbotError):
    """The persisted index is missing, corrupt or was built differently; it can be rebuilt."""


class ModelError(ChatbotError):
    """A model is missing, cannot load, or failed while running."""


class InputError(ChatbotError):
    """The user's input (a question, a batch line, a flag) cannot be used."""
