# Sourced by the side-by-side benchmarks (pgbench.sh, udf.sh, triggers.sh):
# starts RustyDB (`rustydb serve`) and PostgreSQL 15 (`initdb` in a
# temporary directory, as the `postgres` user when run as root, since
# PostgreSQL refuses root) on free ports of 127.0.0.1, each in a fresh
# directory under $work, and stops both and removes $work when the script
# exits. Sets $work, $rustydb_port and $pg_port; user `rustydb`, database
# `rustydb` on both.
#
#   RUSTYDB_BIN  the rustydb binary (default: built here with --release)
#   PG_BIN       PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 missing at $pg_bin: apt-get install postgresql-15" >&2; exit 1; }
command -v pg_isready >/dev/null || { echo "pg_isready missing: apt-get install postgresql-client" >&2; exit 1; }

if [ -z "${RUSTYDB_BIN:-}" ]; then
    cargo build --release --quiet -p rustydb --bin rustydb
    RUSTYDB_BIN=target/release/rustydb
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
chmod 755 "$work"
rustydb_pid=""
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    as_pg=(runuser -u postgres --)
    chown postgres "$work"
fi
cleanup() {
    [ -n "$rustydb_pid" ] && kill "$rustydb_pid" 2>/dev/null && wait "$rustydb_pid" 2>/dev/null
    [ -f "$work/pg/postmaster.pid" ] && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

wait_for() {
    for _ in $(seq 1 300); do
        if pg_isready -q -h 127.0.0.1 -p "$1"; then return 0; fi
        sleep 0.1
    done
    echo "no server on port $1" >&2
    exit 1
}

rustydb_port=$(free_port)
"$RUSTYDB_BIN" serve --data-dir "$work/rustydb" --listen "127.0.0.1:$rustydb_port" 2>"$work/rustydb.log" &
rustydb_pid=$!
wait_for "$rustydb_port"

pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U rustydb --auth=trust >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-h 127.0.0.1 -p $pg_port -k $work" start >/dev/null
wait_for "$pg_port"
createdb -h 127.0.0.1 -p "$pg_port" -U rustydb rustydb
