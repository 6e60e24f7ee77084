#!/usr/bin/env bash
# Trigger overhead, side by side: RustyDB (`rustydb serve`, the Wasm
# `audit` trigger of sdk-examples/audit) and PostgreSQL 15 (the same
# trigger in PL/pgSQL), both started by this script on 127.0.0.1 in fresh
# temporary directories, both sent the same statements by psql:
#
#   INSERT INTO items SELECT g, g FROM generate_series(1, ROWS) AS g
#
# into (a) a table without triggers and (b) the same table with an AFTER
# INSERT row trigger that writes one line per row into
#   audit_log(tbl text, op text, old_row text, new_row text)
# (the table sdk-examples/audit documents) as the row's record text — what
# `audit.audit_row('items')` does in Wasm and `audit_row()` below does in
# PL/pgSQL. AUDIT_SERIAL=1 gives audit_log an `id serial` column first,
# which adds a nextval per row to both sides.
#
# Each case runs RUNS times on a freshly created table; the best time
# (psql's \timing, so server time plus one round trip) counts. The result
# is each system's trigger overhead (trigger time − plain time) and the
# ratio of the two overheads: the target is RustyDB's ≤ PostgreSQL's.
#
# Usage: benches/triggers.sh [ROWS] [RUNS]       (defaults 100000, 3)
#   RUSTYDB_BIN  the rustydb binary (default: built here with --release)
#   AUDIT_WASM   the audit component (default: built from sdk-examples)
#   PG_BIN       PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
set -euo pipefail
cd "$(dirname "$0")/.."

rows=${1:-100000}
runs=${2:-3}
serial=""
[ "${AUDIT_SERIAL:-0}" = 1 ] && serial="id serial,"
command -v psql >/dev/null || { echo "psql missing: apt-get install postgresql-client" >&2; exit 1; }

if [ -z "${AUDIT_WASM:-}" ]; then
    cargo build --release --quiet --target wasm32-wasip2 --manifest-path sdk-examples/Cargo.toml -p audit
    AUDIT_WASM=sdk-examples/target/wasm32-wasip2/release/audit.wasm
fi

# shellcheck source=benches/servers.sh
source benches/servers.sh
"$RUSTYDB_BIN" deploy "$AUDIT_WASM" --name audit --port "$rustydb_port" >/dev/null

sql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U rustydb rustydb -c "$2" >/dev/null; }

# The same trigger as sdk-examples/audit, in PL/pgSQL.
sql "$pg_port" "CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO audit_log (tbl, op, old_row, new_row)
  VALUES (coalesce(TG_ARGV[0], TG_TABLE_NAME), TG_OP, OLD::text, NEW::text);
  RETURN NULL;
END \$\$"

# Milliseconds of one INSERT of $rows rows into a fresh `items`, with the
# audit trigger when $3 names its function.
one_run() {
    local port=$1 with=$2 function=$3 setup out
    setup="DROP TABLE IF EXISTS items; DROP TABLE IF EXISTS audit_log;
           CREATE TABLE items (id int PRIMARY KEY, v bigint);
           CREATE TABLE audit_log ($serial tbl text, op text, old_row text, new_row text);"
    if [ "$with" = yes ]; then
        setup="$setup CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW
               EXECUTE FUNCTION $function('items');"
    fi
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U rustydb rustydb -c "$setup" >/dev/null
    out=$(psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U rustydb rustydb 2>&1 <<EOF
\timing on
INSERT INTO items SELECT g, g FROM generate_series(1, $rows) AS g;
EOF
    ) || { echo "$out" >&2; exit 1; }
    local logged
    logged=$(psql -X -At -h 127.0.0.1 -p "$port" -U rustydb rustydb -c "SELECT count(*) FROM audit_log")
    local expected=0
    [ "$with" = yes ] && expected=$rows
    if [ "$logged" != "$expected" ]; then
        echo "port $port: audit_log has $logged rows, expected $expected" >&2
        exit 1
    fi
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -1
}

best() {
    local port=$1 with=$2 function=$3 b="" t
    for _ in $(seq 1 "$runs"); do
        t=$(one_run "$port" "$with" "$function")
        b=$(python3 -c "print(min(float('$t'), float('${b:-inf}')))")
    done
    echo "$b"
}

echo "INSERT of $rows rows, best of $runs ($(nproc) cores)${serial:+, audit_log with id serial}"
r_plain=$(best "$rustydb_port" no "")
r_trig=$(best "$rustydb_port" yes audit.audit_row)
p_plain=$(best "$pg_port" no "")
p_trig=$(best "$pg_port" yes audit_row)

python3 - "$rows" "$r_plain" "$r_trig" "$p_plain" "$p_trig" <<'EOF'
import sys
rows = int(sys.argv[1])
r_plain, r_trig, p_plain, p_trig = map(float, sys.argv[2:])
r_over, p_over = r_trig - r_plain, p_trig - p_plain
print(f"{'case':<34}{'RustyDB ms':>12}{'PostgreSQL 15 ms':>18}")
print(f"{'(a) no trigger':<34}{r_plain:>12.1f}{p_plain:>18.1f}")
print(f"{'(b)/(c) AFTER INSERT audit trigger':<34}{r_trig:>12.1f}{p_trig:>18.1f}")
print(f"{'trigger overhead':<34}{r_over:>12.1f}{p_over:>18.1f}")
print(f"{'overhead per row (us)':<34}{1000 * r_over / rows:>12.2f}{1000 * p_over / rows:>18.2f}")
print(f"overhead ratio RustyDB / PostgreSQL: {r_over / p_over:.2f} (target <= 1)")
EOF
