#!/usr/bin/env bash
# Runs a sqllogictest corpus in SQLite's format (e.g. the test/ directory of
# SQLite's sqllogictest: evidence/, index/, random/, select1-5.test) over the
# PostgreSQL wire protocol against `rustydb serve`, a fresh server per file,
# and prints the pass rate per file and in total. The corpus is public
# content and stays out of this repository: pass its directory.
#
#   tests/conformance/run.sh CORPUS_DIR_OR_FILE... [--timeout SECS] [--verbose]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -eq 0 ]; then
    echo "usage: $0 CORPUS_DIR_OR_FILE... [--timeout SECS] [--verbose]" >&2
    exit 2
fi
cd "$root"
cargo build --release -p rustydb --bin rustydb -p rustydb-slt-conformance --bin rustydb-slt-conformance
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
exec "$target/release/rustydb-slt-conformance" --server "$target/release/rustydb" "$@"
