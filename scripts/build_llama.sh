#!/usr/bin/env bash
# Build (once per CPU) and install llama-cpp-python into .venv.
#
# llama-cpp-python compiles llama.cpp with -march=native. Two things follow:
# - a wheel built on one CPU can crash with "illegal instruction" on another, so pip's own wheel cache
#   (keyed by version only) must not be used: the wheel is kept in a folder keyed by this CPU's model and
#   flags, the build options below and the compiler, and built with --no-cache-dir;
# - on virtualised Sapphire/Granite Rapids hosts llama.cpp's AMX kernels segfault
#   (ggml-org/llama.cpp#20824), so AMX is switched off at compile time. -mno-amx-* wins over
#   -march=native whatever the order (GCC keeps explicitly set ISA flags), so the rest of the native
#   tuning, AVX-512 included, stays, and so do the CPU repack kernels. `chatbot doctor` shows the result.
# Usage: bash scripts/build_llama.sh [PYTHON]     (PYTHON defaults to .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
PIN="llama-cpp-python==0.3.36"
CC=${CC:-cc}

# Only the -mno-amx-* flags this compiler knows (gcc 12 has no amx-fp16 / amx-complex).
flags=""
for f in -mno-amx-tile -mno-amx-int8 -mno-amx-bf16 -mno-amx-fp16 -mno-amx-complex; do
  if echo 'int main(void){return 0;}' | "$CC" "$f" -x c -o /dev/null - 2>/dev/null; then flags="$flags $f"; fi
done
flags="${flags# }"
export CMAKE_ARGS="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$flags' -DCMAKE_CXX_FLAGS='$flags' ${CHATBOT_EXTRA_CMAKE_ARGS:-}"

read -r cpu_fp cpu_model < <(PYTHONPATH=. "$PY" -c \
  'from chatbot.generation.hardware import cpu_info; c = cpu_info(); print(c.fingerprint, c.model)')
key=$(printf '%s\n%s\n%s\n%s\n' "$PIN" "$cpu_fp" "$CMAKE_ARGS" "$("$CC" --version | head -1)" | sha256sum | cut -c1-16)
wheels="${CHATBOT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatbot/wheels}/$key"

installed=$("$PY" - <<'PYEOF' 2>/dev/null || true
import importlib.metadata as md, json, pathlib
try:
    d = md.distribution("llama-cpp-python")
    print(json.loads(pathlib.Path(d.locate_file("llama_cpp/cpu-build.json")).read_text())["key"])
except Exception:
    print("")
PYEOF
)
if [ "$installed" = "$key" ]; then
  echo "==> llama-cpp-python already built for this CPU (build $key)"
  exit 0
fi

if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "==> compiling $PIN for this CPU ($cpu_model, build $key): ~7-10 min, once per CPU"
  echo "    GGML_NATIVE=ON $flags"
  tmp=$(mktemp -d)
  "$PY" -m pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python --progress-bar off -w "$tmp" "$PIN"
  mkdir -p "$wheels"
  mv "$tmp"/llama_cpp_python-*.whl "$wheels"/
  rm -rf "$tmp"
else
  echo "==> llama-cpp-python for this CPU found in $wheels"
fi
"$PY" -m pip install --quiet --no-deps --force-reinstall --progress-bar off "$wheels"/llama_cpp_python-*.whl
# Record which CPU and options this build is for; `chatbot doctor` compares it with the CPU at hand.
"$PY" - "$key" "$cpu_model" "$cpu_fp" "$CMAKE_ARGS" <<'PYEOF'
import importlib.metadata as md, json, pathlib, sys
key, cpu, fp, args = sys.argv[1:5]
d = md.distribution("llama-cpp-python")
out = pathlib.Path(d.locate_file("llama_cpp/cpu-build.json"))
out.write_text(json.dumps({"key": key, "cpu": cpu, "cpu_fingerprint": fp, "cmake_args": args}) + "\n")
PYEOF
echo "==> llama-cpp-python installed for this CPU (build $key)"
