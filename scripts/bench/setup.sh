#!/usr/bin/env bash
# Creates (or updates) the venv of the benchmark's helper processes: .venv-bench in the
# repository root, with scripts/bench/requirements.txt from PyPI (confluent-kafka's wheel brings
# its own librdkafka, mock cluster included). Prints the venv's python on stdout.
#
#   PY="$(scripts/bench/setup.sh)"; "$PY" scripts/bench/webhook_server.py --port 0
#
# Env: PYTHON (default python3, >= 3.11), VENV (default <root>/.venv-bench).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-bench}"
PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bench/setup.sh: $PYTHON not found" >&2
    exit 1
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || { echo "bench/setup.sh: Python >= 3.11 is required" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
            echo "bench/setup.sh: python3 -m venv failed; installing python3-venv" >&2
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            "$PYTHON" -m venv "$VENV"
        else
            echo "bench/setup.sh: '$PYTHON -m venv' failed; install python3-venv" >&2
            exit 1
        fi
    fi
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/bench/requirements.txt" >&2
echo "$VENV/bin/python"
