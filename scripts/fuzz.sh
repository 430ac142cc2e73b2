#!/usr/bin/env bash
# Fuzzes the retirement-event decoder and the configuration loader. Zero crashes and zero hangs
# are required; the figures (inputs run, slowest input) are printed.
#
#   scripts/fuzz.sh           the long run, on demand: 2,000,000 decoder inputs under libFuzzer
#                             (coverage-guided), 200,000 seeded random decoder inputs and 100,000
#                             configuration inputs
#   scripts/fuzz.sh --short   the CI run: 50,000 / 20,000 / 5,000
#
# The decoder runs under libFuzzer with AddressSanitizer (swiftc -sanitize=fuzzer,address, the
# RetirementEvent sources compiled with Fuzz/DecoderFuzzTarget.swift), seeded from the shared
# vectors. The configuration loader needs the whole ServiceRuntime module, so it runs under the seeded random
# fuzzer `retirement-fuzz` (mutations of the shipped example configurations), as does the decoder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="/opt/swift/usr/bin:$PATH"

LIBFUZZER_RUNS=2000000
DECODER_RUNS=200000
CONFIG_RUNS=100000
if [ "${1:-}" = "--short" ]; then
    LIBFUZZER_RUNS=50000
    DECODER_RUNS=20000
    CONFIG_RUNS=5000
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

swift build --product retirement-fuzz >/dev/null
FUZZ="$(swift build --show-bin-path)/retirement-fuzz"

echo "== fuzz: configuration loader (seeded random, $CONFIG_RUNS inputs)"
mkdir -p "$WORK/config"
cp deploy/compose/config.yaml "$WORK/config/compose.yaml"
cp deploy/systemd/config.example.yaml "$WORK/config/systemd.yaml"
cat > "$WORK/config/minimal.yaml" <<'YAML'
kafka:
  bootstrap_servers: "127.0.0.1:9092"
  properties:
    security.protocol: SASL_SSL
processing:
  max_in_flight: 100
  retry: {initial_backoff: 1s, max_backoff: 5m, max_attempts: 10}
destinations:
  - name: crm
    type: webhook
    url: "https://crm.example.org/erase"
    secret_env: SECRET
  - {name: db, type: sql, url: "postgres://u:p@127.0.0.1:5432/lms", statements: ["DELETE FROM t WHERE id = :user_id"]}
YAML
(cd "$WORK" && "$FUZZ" config --runs "$CONFIG_RUNS" --seed 20261201 --corpus "$WORK/config")

echo "== fuzz: event decoder (seeded random, $DECODER_RUNS inputs)"
(cd "$WORK" && "$FUZZ" decoder --runs "$DECODER_RUNS" --seed 20261201 --corpus "$ROOT/schema/vectors.json")

echo "== fuzz: event decoder (libFuzzer with AddressSanitizer, $LIBFUZZER_RUNS inputs)"
mkdir -p "$WORK/corpus"
python3 - "$ROOT/schema/vectors.json" "$ROOT/schema/encryption-vectors.json" "$WORK/corpus" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[3])
# First byte (see Fuzz/DecoderFuzzTarget.swift): 0x10 = key "42" and the usual headers;
# 0x08 = no key, the keyring on and the ce_id the encrypted vectors were sealed for.
for name, path, selector in (("vector", sys.argv[1], 0x10), ("encrypted", sys.argv[2], 0x08)):
    document = json.load(open(path))
    for index, vector in enumerate(document.get("vectors") or document.get("events") or []):
        value = vector.get("value")
        if isinstance(value, str):
            (out / f"{name}-{index}").write_bytes(bytes([selector]) + value.encode("utf-8", "surrogatepass"))
PY
# RetirementEvent imports swift-crypto (the keyring): its module and objects come from the debug
# build above (SwiftPM's .build layout), only the decoder's own sources are instrumented.
BIN_PATH="$(swift build --show-bin-path)"
CRYPTO_SOURCES=.build/checkouts/swift-crypto/Sources
mapfile -t CRYPTO_OBJECTS < <(find "$BIN_PATH"/Crypto.build "$BIN_PATH"/CryptoBoringWrapper.build "$BIN_PATH"/CCryptoBoringSSL.build \
    "$BIN_PATH"/CCryptoBoringSSLShims.build "$BIN_PATH"/CXKCP*.build -name '*.o' 2>/dev/null)
swiftc -sanitize=fuzzer,address -parse-as-library -module-name RetirementEvent -package-name retirement_consumer -Onone \
    -I "$BIN_PATH/Modules" \
    -Xcc -fmodule-map-file="$CRYPTO_SOURCES/CCryptoBoringSSL/include/module.modulemap" \
    -Xcc -fmodule-map-file="$CRYPTO_SOURCES/CCryptoBoringSSLShims/include/module.modulemap" \
    -Xcc -fmodule-map-file="$BIN_PATH/CryptoBoringWrapper.build/include/module.modulemap" \
    Sources/RetirementEvent/*.swift Fuzz/DecoderFuzzTarget.swift "${CRYPTO_OBJECTS[@]}" -o "$WORK/decoder-fuzzer" 2>&1 \
    | grep -v "Cannot export local symbol" || true
test -x "$WORK/decoder-fuzzer"
if ! "$WORK/decoder-fuzzer" -runs="$LIBFUZZER_RUNS" -timeout=2 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ROOT/fuzz-" "$WORK/corpus" >"$WORK/libfuzzer.log" 2>&1; then
    tail -40 "$WORK/libfuzzer.log"
    echo "fuzz: the decoder crashed or hung under libFuzzer (input saved as fuzz-*)" >&2
    exit 1
fi
runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$WORK/libfuzzer.log" | grep -oE '[0-9]+$' || echo "?")
cov=$(grep -oE 'cov: [0-9]+' "$WORK/libfuzzer.log" | tail -1 || true)
echo "fuzz decoder (libFuzzer): $runs inputs, 0 crashes, 0 hangs ($cov)"
