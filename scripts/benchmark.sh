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

swift build -c release --scratch-path "$SCRATCH" --product retirement-consumer >&2
swift build -c release --scratch-path "$SCRATCH" --product retirement-bench >&2
BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM" >&2
exec "$BIN/retirement-bench" "$@"
