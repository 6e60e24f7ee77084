#!/usr/bin/env bash
# Wasm functions against built-ins and PL/pgSQL, side by side in one run:
#
#   SELECT sum(f(x)) FROM t        -- t holds ROWS bigints (default 1M)
#     (a) RustyDB's built-in expression   x * 2 + 1
#     (b) RustyDB's Wasm UDF              arith.twice_plus_one(x)
#     (c) PostgreSQL 15's built-in        x * 2 + 1
#     (d) a PL/pgSQL function on PostgreSQL 15 with the same body
#   and the same four for the haversine distance over ROWS point pairs
#   (the formula as a SQL expression of sin/cos/asin/sqrt/radians, the
#   `geo` example's geo.haversine, and a PL/pgSQL function).
#
# RustyDB (`rustydb serve`, a release build) and PostgreSQL 15 (`initdb` in
# a temporary directory, run as the `postgres` user when this script runs as
# root) are started by this script on 127.0.0.1 and driven by the same psql.
# Each query runs REPS times (default 3) after one warm-up; the best time
# counts. The script checks that the four answers of each group agree
# before it prints the table.
#
# Usage: benches/udf.sh [ROWS] [REPS]
#   RUSTYDB_BIN  the rustydb binary (default: built here with --release)
#   PG_BIN       PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

rows=${1:-1000000}
reps=${2:-3}
command -v psql >/dev/null || { echo "psql missing: apt-get install postgresql-client" >&2; exit 1; }

# The guests, as the harness tests build them (their own workspace).
(env -u CARGO_TARGET_DIR cargo build --release --quiet --target wasm32-wasip2 \
    --manifest-path sdk-examples/Cargo.toml)
wasm_dir=$repo/sdk-examples/target/wasm32-wasip2/release

# shellcheck source=benches/servers.sh
source benches/servers.sh

sql() {
    local port=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U rustydb -d rustydb "$@"
}

# The data, generated identically on both servers.
setup="
CREATE TABLE t (x bigint);
INSERT INTO t SELECT g FROM generate_series(1, $rows) AS g;
CREATE TABLE h (lat1 double precision, lon1 double precision,
                lat2 double precision, lon2 double precision);
INSERT INTO h SELECT (g % 179)::float8 - 89.5, (g % 359)::float8 - 179.5,
                     ((g * 7) % 179)::float8 - 89.5, ((g * 13) % 359)::float8 - 179.5
  FROM generate_series(1, $rows) AS g;"
secs() { python3 -c "import time; print(f'{time.time():.3f}')"; }
for target in "RustyDB $rustydb_port" "PostgreSQL $pg_port"; do
    read -r name port <<<"$target"
    start=$(secs)
    sql "$port" -c "$setup"
    echo "loaded $rows rows into t and h on $name in $(python3 -c "print(f'{$(secs) - $start:.1f}')") s" >&2
done

sql "$rustydb_port" -c "CREATE MODULE arith FROM FILE '$wasm_dir/arith.wasm'"
sql "$rustydb_port" -c "CREATE MODULE geo FROM FILE '$wasm_dir/geo.wasm'"
sql "$pg_port" <<'PLPGSQL'
CREATE FUNCTION twice_plus_one(x bigint) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT AS $$ BEGIN RETURN x * 2 + 1; END $$;
CREATE FUNCTION haversine(lat1 float8, lon1 float8, lat2 float8, lon2 float8) RETURNS float8
  LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  dphi float8 := radians(lat2 - lat1);
  dlambda float8 := radians(lon2 - lon1);
  a float8;
BEGIN
  a := sin(dphi / 2) ^ 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlambda / 2) ^ 2;
  RETURN 2 * 6371.0088 * asin(least(1, sqrt(a)));
END $$;
PLPGSQL

haversine_sql="2 * 6371.0088 * asin(sqrt(
    sin(radians(lat2 - lat1) / 2) * sin(radians(lat2 - lat1) / 2)
  + cos(radians(lat1)) * cos(radians(lat2))
    * sin(radians(lon2 - lon1) / 2) * sin(radians(lon2 - lon1) / 2)))"

# best PORT SQL: "milliseconds answer" of the fastest of REPS runs, or
# "n/a error" when the query fails (the error goes to stderr).
best() {
    local port=$1 query=$2 out ms answer best_ms=""
    if ! sql "$port" -c "$query" >/dev/null; then
        echo "n/a error"
        return
    fi
    for _ in $(seq 1 "$reps"); do
        out=$(sql "$port" -c '\timing on' -c "$query")
        answer=$(grep -v '^Time:' <<<"$out" | tail -1)
        ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
        best_ms=$(python3 -c "print(min(float('$ms'), float('${best_ms:-inf}')))")
    done
    echo "$best_ms $answer"
}

declare -A ms answer
run() {
    local key=$1 port=$2 query=$3
    read -r ms[$key] answer[$key] < <(best "$port" "$query")
}
run a_int "$rustydb_port" "SELECT sum(x * 2 + 1) FROM t"
run b_int "$rustydb_port" "SELECT sum(arith.twice_plus_one(x)) FROM t"
run c_int "$pg_port" "SELECT sum(x * 2 + 1) FROM t"
run d_int "$pg_port" "SELECT sum(twice_plus_one(x)) FROM t"
run a_geo "$rustydb_port" "SELECT sum($haversine_sql) FROM h"
run b_geo "$rustydb_port" "SELECT sum(geo.haversine(lat1, lon1, lat2, lon2)) FROM h"
run c_geo "$pg_port" "SELECT sum($haversine_sql) FROM h"
run d_geo "$pg_port" "SELECT sum(haversine(lat1, lon1, lat2, lon2)) FROM h"

# The answers of a group must agree (sums of doubles to 1e-9 relative: the
# summation order differs between the engines); a query that failed is
# shown as n/a and left out.
python3 - "${answer[a_int]}" "${answer[b_int]}" "${answer[c_int]}" "${answer[d_int]}" \
    "${answer[a_geo]}" "${answer[b_geo]}" "${answer[c_geo]}" "${answer[d_geo]}" <<'PY'
import sys
ints = [v for v in sys.argv[1:5] if v != "error"]
geos = [float(v) for v in sys.argv[5:9] if v != "error"]
assert len(set(ints)) == 1, f"x * 2 + 1 sums differ: {ints}"
assert max(geos) - min(geos) <= 1e-9 * abs(geos[0]), f"haversine sums differ: {geos}"
PY

ratio() { python3 -c "print(f'{$1 / $2:.2f}')" 2>/dev/null || echo "n/a"; }
fmt_ms() { python3 -c "print(f'{$1:.1f}')" 2>/dev/null || echo "n/a"; }
echo
echo "SELECT sum(f(x)) over $rows rows, best of $reps ($(nproc) cores); ratio = time / RustyDB built-in"
printf '| %-34s | %10s | %8s |\n' "f" "ms" "ratio"
printf '|%s|%s|%s|\n' "------------------------------------" "-----------:" "---------:"
for group in int geo; do
    if [ $group = int ]; then f="x * 2 + 1"; else f="haversine"; fi
    base=${ms[a_$group]}
    printf '| %-34s | %10s | %8s |\n' "$f: RustyDB built-in" "$(fmt_ms "$base")" "1.00"
    printf '| %-34s | %10s | %8s |\n' "$f: RustyDB Wasm UDF" "$(fmt_ms "${ms[b_$group]}")" "$(ratio "${ms[b_$group]}" "$base")"
    printf '| %-34s | %10s | %8s |\n' "$f: PostgreSQL 15 built-in" "$(fmt_ms "${ms[c_$group]}")" "$(ratio "${ms[c_$group]}" "$base")"
    printf '| %-34s | %10s | %8s |\n' "$f: PostgreSQL 15 PL/pgSQL" "$(fmt_ms "${ms[d_$group]}")" "$(ratio "${ms[d_$group]}" "$base")"
done
echo
echo "Wasm UDF vs RustyDB built-in: x*2+1 $(ratio "${ms[b_int]}" "${ms[a_int]}")x, haversine $(ratio "${ms[b_geo]}" "${ms[a_geo]}")x (target <= 2)"
echo "PL/pgSQL vs Wasm UDF: x*2+1 $(ratio "${ms[d_int]}" "${ms[b_int]}")x, haversine $(ratio "${ms[d_geo]}" "${ms[b_geo]}")x (target >= 3)"
# A Wasm row that could not run is a failed benchmark, not a result.
[ "${ms[b_int]}" != n/a ] && [ "${ms[b_geo]}" != n/a ]
