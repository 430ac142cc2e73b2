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

# shellcheck source=../lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
ensure_python_venv "$VENV" "$PYTHON" >&2 || { echo "bench/setup.sh: no usable venv" >&2; exit 1; }

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/bench/requirements.txt" >&2
echo "$VENV/bin/python"
