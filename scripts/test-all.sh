#!/usr/bin/env bash
# Every test of the project, as CI runs it:
#   1. the Swift package (unit tests, librdkafka mock-cluster tests, process-level group tests,
#      destination tests against vendor-shaped local servers and a real PostgreSQL);
#   2. the LMS plugin's tests and the end-to-end test (plugin -> Kafka -> retirement-consumer run);
#   3. the deploy/ checks (YAML, Kubernetes and CRD schemas, kustomize, systemd, Dockerfile lint).
# Real-broker tests (IntegrationTests) run only when KAFKA_BOOTSTRAP_SERVERS is set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

echo "== format and lint (swift format, ruff)"
scripts/lint.sh

echo "== swift build"
swift build --build-tests

# The process-level tests (ProcessTests: consumer groups of separate OS processes) run on their
# own, so that they and the timing-sensitive unit tests (rate limits, batching) do not starve
# each other of the machine's cores.
echo "== swift test: unit, wrapper and destination tests (with a throw-away PostgreSQL)"
scripts/with-postgres.sh swift test --skip-build --skip ProcessTests
echo "== swift test: process-level consumer-group tests"
swift test --skip-build --filter ProcessTests

echo "== fuzz: event decoder and configuration loader (short run; scripts/fuzz.sh for the long one)"
scripts/fuzz.sh --short

echo "== LMS plugin tests and end-to-end test"
RETIREMENT_CONSUMER_BIN="$(swift build --show-bin-path)/retirement-consumer" scripts/test-python.sh

echo "== deploy/ checks"
scripts/check-deploy.sh

echo "== documentation checks"
scripts/check-docs.sh

echo "== Tutor plugin: rendered with the real tutor, checked"
RETIREMENT_CONSUMER_BIN="$(swift build --show-bin-path)/retirement-consumer" scripts/test-tutor.sh
