#!/usr/bin/env bash
# Tests of the LMS plugin (lms-plugin/) and the shared event schema/vectors (schema/).
#
#   scripts/test-python.sh [pytest args...]
#
# Creates .venv-python in the repository root (reused when present), installs the plugin
# with its test extras (pytest, edx-django-utils, ruff, ...), runs `ruff check` and
# `ruff format --check` on lms-plugin/ with the repository's ruff.toml, then pytest. The end-to-end test runs when
# RETIREMENT_CONSUMER_BIN points to the built Swift binary; otherwise it is skipped.
# Exits non-zero on any failure, including "no tests collected".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-python"
PYTHON="${PYTHON:-python3}"

# shellcheck source=lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
ensure_python_venv "$VENV" "$PYTHON" || { echo "test-python.sh: no usable venv" >&2; exit 1; }

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$ROOT/lms-plugin[test]"

if [ -n "${RETIREMENT_CONSUMER_BIN:-}" ]; then
    if [ ! -x "$RETIREMENT_CONSUMER_BIN" ]; then
        echo "test-python.sh: RETIREMENT_CONSUMER_BIN=$RETIREMENT_CONSUMER_BIN is not an executable file" >&2
        exit 1
    fi
    echo "test-python.sh: end-to-end test enabled with $RETIREMENT_CONSUMER_BIN"
else
    echo "test-python.sh: RETIREMENT_CONSUMER_BIN not set; the end-to-end test will be skipped"
fi

echo "test-python.sh: ruff check and ruff format --check (ruff.toml)"
(cd "$ROOT" && "$VENV/bin/ruff" check --config ruff.toml lms-plugin && "$VENV/bin/ruff" format --check --config ruff.toml lms-plugin)

cd "$ROOT/lms-plugin"
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test-python.sh: no tests were collected" >&2
    exit 1
fi
exit "$status"
