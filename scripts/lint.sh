#!/usr/bin/env bash
# Format and lint checks, as CI runs them:
#   - Swift: `swift format lint --strict` over Package.swift, Sources, Tests and Fuzz with the
#     checked-in .swift-format (fix with `swift format -i -r Package.swift Sources Tests Fuzz`);
#   - Python: `ruff check` and `ruff format --check` over every Python package of the repository
#     with the root ruff.toml (fix with `ruff check --fix` and `ruff format`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"

echo "== swift format lint --strict"
swift format lint --strict --recursive Package.swift Sources Tests Fuzz

echo "== ruff"
VENV="$ROOT/.venv-lint"
# shellcheck source=lib/python-venv.sh
source "$ROOT/scripts/lib/python-venv.sh"
if [ ! -x "$VENV/bin/ruff" ]; then
    ensure_python_venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "ruff>=0.6,<1"
fi
PYTHON_PATHS=(lms-plugin tutor-plugin tools/deploycheck scripts)
"$VENV/bin/ruff" check --config ruff.toml "${PYTHON_PATHS[@]}"
"$VENV/bin/ruff" format --check --config ruff.toml "${PYTHON_PATHS[@]}"
echo "lint: ok"
