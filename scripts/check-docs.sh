#!/usr/bin/env bash
# Documentation checks: every Markdown link and every `docs/*.md#anchor` reference (in code
# comments, schema, deploy files) resolves to an existing file and anchor; nothing points
# outside the repository; docs/contract.md's worked examples (ce_id, webhook signature) are
# right and it documents every reason code of schema/vectors.json; README.md's configuration
# table has the keys and defaults of docs/contract.md §7. Standard-library Python only.
#
#   scripts/check-docs.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v python3 >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
    else
        echo "check-docs.sh: python3 is required" >&2
        exit 1
    fi
fi

echo "== check-docs: the checker's own tests"
python3 scripts/test_check_docs.py
echo "== check-docs: the repository"
python3 scripts/check_docs.py "$ROOT"
