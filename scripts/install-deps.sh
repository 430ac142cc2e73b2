#!/usr/bin/env bash
# Installs what building and testing retirement-consumer needs on Debian (bookworm): librdkafka's
# headers, PostgreSQL (for the sql destination's tests) and Python's venv module. Swift 6.3 is
# expected on PATH (https://www.swift.org/install/). Idempotent; installs only what is missing.
set -euo pipefail

missing=()
[ -f /usr/include/librdkafka/rdkafka.h ] || missing+=(librdkafka-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "install-deps: Swift found at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "install-deps: Swift 6.3 is not installed; see https://www.swift.org/install/linux/" >&2
        exit 1
    fi
fi
