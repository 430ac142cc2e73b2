#!/usr/bin/env bash
# Tests of the Tutor plugin (tutor-plugin/, distribution tutor-contrib-retirement-consumer).
#
#   scripts/test-tutor.sh [pytest args...]
#
# Creates .venv-tutor in the repository root (reused when present), installs the real
# `tutor` from PyPI (22.x), the plugin, the LMS plugin (its settings validation is used on
# the rendered LMS settings) and the test tools, then runs pytest in tutor-plugin/tests. The
# tests render Tutor environments with `tutor config save` into temporary TUTOR_ROOTs (no
# Docker needed) and check what was rendered.
#
# RETIREMENT_CONSUMER_BIN: the built retirement-consumer binary; the rendered consumer
# configuration is then validated with `retirement-consumer check`. Without it those tests
# are skipped (and this script says so).
#
# EDX_PLATFORM_DIR: a checkout of edx-platform (the release Tutor builds, e.g.
# release/verawood.1). Its scripts/user_retirement requirements are installed into
# .venv-driver and the rendered retirement driver runs edx-platform's own scripts against a
# local fake of the LMS retirement API. Without it that test is skipped (and this script says so).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TUTOR_TEST_VENV:-$ROOT/.venv-tutor}"
PYTHON="${PYTHON:-python3}"

# shellcheck source=lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
ensure_python_venv "$VENV" "$PYTHON" || { echo "test-tutor.sh: no usable venv" >&2; exit 1; }

PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip
"${PIP[@]}" "tutor>=22.0,<23" "check-jsonschema==0.39.0" "jsonschema==4.26.0" \
    "$ROOT/lms-plugin" "$ROOT/tutor-plugin[test]"
echo "test-tutor.sh: $("$VENV/bin/tutor" --version)"

if [ -n "${RETIREMENT_CONSUMER_BIN:-}" ]; then
    if [ ! -x "$RETIREMENT_CONSUMER_BIN" ]; then
        echo "test-tutor.sh: RETIREMENT_CONSUMER_BIN=$RETIREMENT_CONSUMER_BIN is not an executable file" >&2
        exit 1
    fi
    echo "test-tutor.sh: the rendered consumer configuration is checked with $RETIREMENT_CONSUMER_BIN"
else
    echo "test-tutor.sh: RETIREMENT_CONSUMER_BIN not set; the 'retirement-consumer check' tests will be skipped"
fi

if [ -n "${EDX_PLATFORM_DIR:-}" ]; then
    requirements="$EDX_PLATFORM_DIR/scripts/user_retirement/requirements/base.txt"
    [ -f "$requirements" ] || { echo "test-tutor.sh: no $requirements" >&2; exit 1; }
    DRIVER_VENV="${TUTOR_DRIVER_VENV:-$ROOT/.venv-driver}"
    ensure_python_venv "$DRIVER_VENV" "$PYTHON" || { echo "test-tutor.sh: no driver venv" >&2; exit 1; }
    "$DRIVER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    export RETIREMENT_DRIVER_PYTHON="$DRIVER_VENV/bin/python"
    echo "test-tutor.sh: the retirement driver runs edx-platform's scripts from $EDX_PLATFORM_DIR"
else
    echo "test-tutor.sh: EDX_PLATFORM_DIR not set; the driver test against the fake LMS API will be skipped"
fi

cd "$ROOT/tutor-plugin"
set +e
# Tutor refuses nothing as root but warns; TUTOR_ROOT and TUTOR_PLUGINS_ROOT are set per test.
env -u TUTOR_ROOT -u TUTOR_PLUGINS_ROOT "$VENV/bin/python" -m pytest -p no:cacheprovider -ra tests "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test-tutor.sh: no tests were collected" >&2
    exit 1
fi
exit "$status"
