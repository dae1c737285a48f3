"""A model process for the supervisor tests: the real worker protocol around a generator that misbehaves.

    python tests/fake_model_worker.py MODE AFTER MARKER

streams "w1 w2 w3 ...", and at piece AFTER does MODE: "segv" (kills itself with SIGSEGV), "abort"
(SIGABRT), "exit" (exits with code 3 mid-stream), "hang" (stops sending) or "ok" (nothing). It misbehaves
only while the file MARKER does not exist, and creates it as it does, so the restarted process behaves.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatbot.generation import worker
from chatbot.generation.fake import count_words


class Misbehaving:
    name = "fake:misbehaving"

    def __init__(self, mode: str, after: int, marker: Path) -> None:
        self.mode, self.after, self.marker = mode, after, marker
        self.last_stats = None

    def count_tokens(self, messages):
        return count_words(messages)

    def stream(self, messages, *, max_tokens):
        for i in range(max_tokens):
            if i == self.after and self.mode != "ok" and not self.marker.exists():
                self.marker.write_text(str(os.getpid()))
                if self.mode == "segv":
                    os.kill(os.getpid(), signal.SIGSEGV)
                elif self.mode == "abort":
                    os.kill(os.getpid(), signal.SIGABRT)
                elif self.mode == "exit":
                    os._exit(3)
                elif self.mode == "hang":
                    time.sleep(3600)
            time.sleep(0.01)
            yield f" w{i + 1}"


if __name__ == "__main__":
    mode, after, marker = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    sys.exit(worker.main(lambda spec, config: Misbehaving(mode, after, marker)))
