#!/usr/bin/env bash
# Runs COMMAND... with a throw-away PostgreSQL server and RETIREMENT_TEST_POSTGRES_URL set.
#
#   scripts/with-postgres.sh swift test --scratch-path .build-dest --filter DestinationsTests
#
# As root on Debian/Ubuntu: installs `postgresql` with apt-get when initdb is missing, creates a
# temporary data directory owned by the `postgres` user, runs initdb and pg_ctl start (as
# `postgres`, via runuser) on a free 127.0.0.1 port with its socket in the data directory,
# creates a role with a password and a database, exports
# RETIREMENT_TEST_POSTGRES_URL=postgres://USER:PASS@127.0.0.1:PORT/DB, runs the command and
# always stops the server and removes the directory (trap). As a non-root user with initdb on
# PATH it does the same under the current user. Exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

find_bin() {
    local name="$1" found
    found="$(command -v "$name" 2>/dev/null || true)"
    if [ -z "$found" ]; then
        found="$(ls -1d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)"
    fi
    printf '%s' "$found"
}

INITDB="$(find_bin initdb)"
if [ -z "$INITDB" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "with-postgres: initdb not found; install postgresql (apt-get install postgresql) or run as root" >&2
        exit 1
    fi
    echo "with-postgres: installing postgresql with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    INITDB="$(find_bin initdb)"
fi
BIN="$(dirname "$INITDB")"
PG_CTL="$BIN/pg_ctl"
PSQL="$BIN/psql"
[ -x "$PSQL" ] || PSQL="$(command -v psql)"

if [ "$(id -u)" -eq 0 ]; then
    RUN_AS=(runuser -u postgres --)
    OWNER=postgres
else
    RUN_AS=()
    OWNER="$(id -un)"
fi

DATA="$(mktemp -d /tmp/retirement-pg.XXXXXX)"
chown "$OWNER" "$DATA"
chmod 700 "$DATA"

cleanup() {
    "${RUN_AS[@]}" "$PG_CTL" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

# A free port: ask the kernel for one.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

USER_NAME="retirement_test"
PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
DB_NAME="retirement_test"

"${RUN_AS[@]}" "$INITDB" -D "$DATA/db" -U postgres --auth=trust --no-sync -E UTF8 >"$DATA/initdb.log" 2>&1 || {
    cat "$DATA/initdb.log" >&2
    exit 1
}
# Password auth over TCP for the test role, trust on the private socket for setup.
cat >"$DATA/db/pg_hba.conf" <<HBA
local all postgres trust
host  all all 127.0.0.1/32 scram-sha-256
HBA
"${RUN_AS[@]}" "$PG_CTL" -D "$DATA/db" -l "$DATA/server.log" -w -t 30 \
    -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c password_encryption=scram-sha-256" start >/dev/null || {
    cat "$DATA/server.log" >&2
    exit 1
}

"${RUN_AS[@]}" "$PSQL" -h "$DATA" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<SQL
CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD';
CREATE DATABASE $DB_NAME OWNER $USER_NAME;
SQL

export RETIREMENT_TEST_POSTGRES_URL="postgres://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB_NAME"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT (database $DB_NAME)" >&2

set +e
"$@"
STATUS=$?
set -e
exit "$STATUS"
