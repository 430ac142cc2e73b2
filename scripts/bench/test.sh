#!/usr/bin/env bash
# Tests of the benchmark's helper processes (scripts/bench/): webhook_server.py over real
# sockets, peer_consumer.py against librdkafka's mock cluster (hosted by the test process through
# confluent-kafka) and webhook_server.py. About 15 s; sets up the venv first (scripts/bench/setup.sh).
# Not part of scripts/test-all.sh: the benchmark's parts are not run in CI unless the lead says so.
#
#   scripts/bench/test.sh [pytest args...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$("$HERE/setup.sh")"
cd "$HERE"
set +e
"$PY" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "bench/test.sh: no tests were collected" >&2
    exit 1
fi
exit "$status"
