#!/usr/bin/env bash
# pgbench, side by side: RustyDB (`rustydb serve`) and PostgreSQL 15, both
# started by this script on 127.0.0.1 in fresh temporary directories, both
# driven by the same pgbench with the same runs:
#
#   pgbench -i -s SCALE                 (initialise; default scale 10)
#   pgbench -c 4 -j 2 -T SECONDS        (TPC-B-like default script; 30 s)
#   pgbench -c 4 -j 2 -T SECONDS -S     (select-only)
#
# and prints the TPS of each and the failed-transaction counts, which must
# be zero. The ratio RustyDB / PostgreSQL is the result; absolute numbers
# depend on the machine.
#
# Usage: benches/pgbench.sh [SCALE] [SECONDS]
#   RUSTYDB_BIN  the rustydb binary (default: built here with --release)
#   PG_BIN       PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin)
# Needs pgbench and the PostgreSQL 15 server (Debian: apt-get install postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."

scale=${1:-10}
seconds=${2:-30}
command -v pgbench >/dev/null || { echo "pgbench missing: apt-get install postgresql" >&2; exit 1; }

# shellcheck source=benches/servers.sh
source benches/servers.sh

# One run: prints "tps failed" of pgbench's summary.
run() {
    local port=$1
    shift
    local out
    out=$(pgbench -h 127.0.0.1 -p "$port" -U rustydb "$@" rustydb 2>&1) || {
        echo "$out" >&2
        exit 1
    }
    local tps failed
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | tail -1)
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
    echo "${tps:-?} ${failed:-0}"
}

init_secs() {
    local port=$1 start end
    start=$(date +%s.%N)
    pgbench -h 127.0.0.1 -p "$port" -U rustydb -i -q -s "$scale" rustydb >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.1f}')"
}

echo "pgbench scale $scale, $seconds s per run, 4 clients, 2 threads ($(nproc) cores)"
r_init=$(init_secs "$rustydb_port")
p_init=$(init_secs "$pg_port")
read -r r_tpcb r_tpcb_failed < <(run "$rustydb_port" -c 4 -j 2 -T "$seconds")
read -r p_tpcb p_tpcb_failed < <(run "$pg_port" -c 4 -j 2 -T "$seconds")
read -r r_sel r_sel_failed < <(run "$rustydb_port" -c 4 -j 2 -T "$seconds" -S)
read -r p_sel p_sel_failed < <(run "$pg_port" -c 4 -j 2 -T "$seconds" -S)

ratio() { python3 -c "print(f'{float(\"$1\") / float(\"$2\"):.2f}')" 2>/dev/null || echo "?"; }
printf '%-28s %14s %14s %8s\n' "run" "RustyDB" "PostgreSQL 15" "ratio"
printf '%-28s %13ss %13ss %8s\n' "-i -s $scale (load time)" "$r_init" "$p_init" "$(ratio "$r_init" "$p_init")"
printf '%-28s %14s %14s %8s\n' "-c 4 -j 2 -T $seconds (tps)" "$r_tpcb" "$p_tpcb" "$(ratio "$r_tpcb" "$p_tpcb")"
printf '%-28s %14s %14s %8s\n' "-c 4 -j 2 -T $seconds -S (tps)" "$r_sel" "$p_sel" "$(ratio "$r_sel" "$p_sel")"
echo "failed transactions: RustyDB $r_tpcb_failed + $r_sel_failed, PostgreSQL $p_tpcb_failed + $p_sel_failed"
[ "$r_tpcb_failed" = 0 ] && [ "$r_sel_failed" = 0 ] && [ "$p_tpcb_failed" = 0 ] && [ "$p_sel_failed" = 0 ]
