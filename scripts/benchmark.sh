#!/usr/bin/env bash
# The benchmark (issue 6): builds release and runs `retirement-bench`, which hosts a mock Kafka
# cluster and local HTTP servers, runs the real `retirement-consumer run` as separate processes
# and prints one table (raw ceiling, latency-bound, batching, memory, rebalance) side by side.
#
#   scripts/benchmark.sh                          # everything (about 10 minutes after the build)
#   scripts/benchmark.sh --only raw,batch         # some sections
#   scripts/benchmark.sh --raw-events 200000 --memory-events 1000000 --memory-seconds 45 --keep
#
# Env: SCRATCH (default .build-bench) is the build directory. Progress goes to stderr, the table
# (Markdown) to stdout. Needs librdkafka-dev (scripts/install-deps.sh) and kcat for the kcat row.
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

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM" >&2
exec "$BIN/retirement-bench" "$@"
