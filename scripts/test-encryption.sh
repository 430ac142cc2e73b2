#!/usr/bin/env bash
# Tests of encrypted personal fields (docs/encryption.md), on their own:
#   1. the Swift suites: shared vectors (RetirementEventTests), keyring config and audit, and the
#      process-level tests (`run`, `replay`, `dlq redrive`, `keys`) against a mock cluster;
#   2. the plugin's encryption tests and the encrypted end-to-end test (plugin -> Kafka ->
#      retirement-consumer -> webhook, with a byte scan of the topics and the consumer's log).
# Needs a built package (`swift build --build-tests`); uses scripts/test-python.sh's venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"
BIN_PATH="$(swift build --show-bin-path)"

echo "== swift test: encryption"
swift test --skip-build --filter 'EncryptionVectorsTests|KeyringConfigurationTests|KeyringAuditTests|EncryptionTests|KeysCommandTests'

echo "== LMS plugin: encryption and the encrypted end-to-end test"
RETIREMENT_CONSUMER_BIN="$BIN_PATH/retirement-consumer" \
    scripts/test-python.sh tests/test_encryption.py tests/e2e/test_encrypted_end_to_end.py
