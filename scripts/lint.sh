#!/usr/bin/env bash
# Format and lint checks, as CI runs them:
#   - Swift: `swift format lint --strict` over Package.swift, Sources, Tests and Fuzz with the
#     checked-in .swift-format (fix with `swift format -i -r Package.swift Sources Tests Fuzz`);
#   - Swift imports: no unused `import` line in Sources, Tests or Fuzz (scripts/lib/check_imports.py).
#     swiftc 6.3 has no unused-import warning (`swiftc -frontend -help-hidden` lists none) and
#     swift-format no such rule, so the script proves each import's use by name: the file must
#     mention a name the module provides. The package's own modules' names are read from their
#     sources on every run; other modules' names are a list kept in the script (add a name there
#     when it calls an import unused that the build needs). Standard-library Python, under a second;
#   - Python: `ruff check` and `ruff format --check` over every Python package of the repository
#     with the root ruff.toml (fix with `ruff check --fix` and `ruff format`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"

echo "== swift format lint --strict"
swift format lint --strict --recursive Package.swift Sources Tests Fuzz

echo "== unused Swift imports"
python3 scripts/lib/test_check_imports.py -q
python3 scripts/lib/check_imports.py "$ROOT"

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
