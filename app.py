"""The chat UI's entry point: ``python app.py [--host --port --generator ...]``.

A thin shim: the app itself is ``chatbot/web/app.py`` (``create_app`` and ``main``).
"""

import sys

from chatbot.web.app import main

if __name__ == "__main__":
    sys.exit(main())
