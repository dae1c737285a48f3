"""A multilingual (Indonesian/English) question-answering chatbot over news articles, with cited answers."""

__version__ = "0.1.0"
