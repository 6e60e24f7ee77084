#!/usr/bin/env bash
# Runs every tests/sql/*.slt against a throwaway PostgreSQL 15 cluster.
#
# Installs nothing: needs PostgreSQL 15's initdb and pg_ctl (Debian:
# `apt-get install postgresql`, found in /usr/lib/postgresql/15/bin) and cargo.
# The cluster lives in a mktemp directory, listens on 127.0.0.1 only, on a free
# port, and is stopped and removed on exit. When run as root, the server runs
# as the `postgres` user. Extra arguments go to the test binary (after
# `--ignored`). Environment: RUSTYDB_SLT_FILTER=word runs only the files whose
# name contains `word`; RUSTYDB_SLT_COMPLETE=1 rewrites the files with
# PostgreSQL's answers instead of checking them (review the diff!).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)

pgbin=""
for dir in /usr/lib/postgresql/15/bin "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
        pgbin=$dir
        break
    fi
done
if [[ -z "$pgbin" ]]; then
    echo "PostgreSQL 15 (initdb, pg_ctl) not found; on Debian: apt-get install postgresql" >&2
    exit 1
fi
version=$("$pgbin/initdb" --version)
case "$version" in
*" 15."*) ;;
*) echo "warning: expected PostgreSQL 15, found: $version" >&2 ;;
esac

# A free TCP port on 127.0.0.1.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

tmp=$(mktemp -d /tmp/rustydb-slt-pg.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$tmp"
    as_pg=(runuser -u postgres --)
fi

cleanup() {
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 ||
    { cat "$tmp/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c fsync=off" start ||
    { cat "$tmp/server.log" >&2; exit 1; }

export RUSTYDB_SLT_POSTGRES="host=127.0.0.1 port=$port user=postgres"
cd "$repo"
cargo test -p rustydb --test slt_postgres -- --ignored --nocapture "$@"
