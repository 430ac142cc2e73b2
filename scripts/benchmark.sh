#!/usr/bin/env bash
# The benchmark (issues 6 and 13): builds release and runs `retirement-bench`, which hosts a mock
# Kafka cluster and a local Braze API, starts the 50 ms webhook server (scripts/bench/webhook_server.py)
# as a child process, runs the real `retirement-consumer run` as separate processes and prints one
# table (raw ceiling, latency-bound, batching, memory, rebalance, peer) side by side, then a
# "Goals" table with one line per goal of issue 13.
#
#   scripts/benchmark.sh                          # everything (about 12 minutes after the build)
#   scripts/benchmark.sh --only raw,batch         # some sections
#   scripts/benchmark.sh --only peer --peer-backlog 40000 --peer-events 200
#   scripts/benchmark.sh --raw-events 200000 --memory-events 1000000 --memory-seconds 45 --keep
#   scripts/benchmark.sh --baseline-binary /path/to/old/retirement-consumer   # before/after rows
#
# --baseline-binary PATH: every `run` row of raw, latency, batch, memory and peer is measured first
# with that binary (row name "... [baseline]"), then with the one built here; build the baseline
# yourself, e.g. in a worktree of the older commit with `swift build -c release`.
#
# Env: SCRATCH (default .build-bench) is the build directory; RETIREMENT_CONSUMER_BIN overrides the
# main binary. The helpers' Python venv (.venv-bench) is made by scripts/bench/setup.sh, and
# passed as --python (a --python given here wins). Progress goes to stderr, the tables (Markdown)
# to stdout. Needs librdkafka-dev (scripts/install-deps.sh) and kcat for the kcat row.
# Never run it next to another Swift build: the figures are only comparable on a quiet machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"
SCRATCH="${SCRATCH:-.build-bench}"

scripts/install-deps.sh >&2
if ! command -v kcat >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "benchmark.sh: installing kcat (the raw ceiling's reference)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
    else
        echo "benchmark.sh: kcat is not installed (apt-get install kcat); the raw section needs it" >&2
    fi
fi

swift build -c release --scratch-path "$SCRATCH" --product retirement-consumer >&2
swift build -c release --scratch-path "$SCRATCH" --product retirement-bench >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"
PY="$(scripts/bench/setup.sh)"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM" >&2
exec "$BIN/retirement-bench" --python "$PY" "$@"
