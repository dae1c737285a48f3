"""Stage 4, web: the Gradio chat page over ``chatbot.pipeline.Pipeline``.

- ``render.py``  HTML, Markdown and JSON for the page, as pure functions (no gradio)
- ``app.py``     ``create_app(pipeline)`` and ``main()``, behind the top-level ``app.py``
- ``static/``    the page's CSS and JavaScript (package data)
"""
