#!/usr/bin/env bash
# Start a local PostgreSQL for the studies tests and print its SQLAlchemy URL on stdout (last line).
#
# Idempotent: installs the Debian package if pg_ctlcluster is missing, starts the newest cluster,
# creates user tl (password tl) and database tl_test if they do not exist. Everything else goes to stderr,
# so `URL=$(scripts/test_postgres.sh)` works. One SQL statement per psql call (several statements in one
# -c run in one transaction, and CREATE DATABASE cannot run inside a transaction).
set -euo pipefail

log() { echo "test_postgres: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
fi

# Newest installed cluster version, e.g. "15"; create "main" if the package left none.
VERSION=$(pg_lsclusters -h 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)
if [ -z "${VERSION}" ]; then
    VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    log "creating cluster ${VERSION} main"
    pg_createcluster "${VERSION}" main >&2
fi
CLUSTER=$(pg_lsclusters -h | awk -v v="${VERSION}" '$1 == v {print $2; exit}')
PORT=$(pg_lsclusters -h | awk -v v="${VERSION}" -v c="${CLUSTER}" '$1 == v && $2 == c {print $3; exit}')
STATUS=$(pg_lsclusters -h | awk -v v="${VERSION}" -v c="${CLUSTER}" '$1 == v && $2 == c {print $4; exit}')

if [ "${STATUS}" != "online" ]; then
    log "starting cluster ${VERSION} ${CLUSTER} on port ${PORT}"
    pg_ctlcluster "${VERSION}" "${CLUSTER}" start >&2
fi

psql_as_postgres() {
    # $1: SQL (single statement). Runs as the postgres OS user, in the cluster's port.
    su postgres -c "psql -p ${PORT} -q -tA -v ON_ERROR_STOP=1 -c \"$1\""
}

for _ in $(seq 1 30); do
    if psql_as_postgres "SELECT 1" >/dev/null 2>&1; then break; fi
    sleep 0.5
done

if [ "$(psql_as_postgres "SELECT 1 FROM pg_roles WHERE rolname = 'tl'")" != "1" ]; then
    log "creating user tl"
    psql_as_postgres "CREATE USER tl WITH PASSWORD 'tl'" >&2
fi
if [ "$(psql_as_postgres "SELECT 1 FROM pg_database WHERE datname = 'tl_test'")" != "1" ]; then
    log "creating database tl_test"
    psql_as_postgres "CREATE DATABASE tl_test OWNER tl" >&2
fi

echo "postgresql+psycopg://tl:tl@127.0.0.1:${PORT}/tl_test"
