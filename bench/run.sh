#!/usr/bin/env bash
# Builds this repository, then runs the peer benchmark and writes bench/results.md (kept in git),
# bench/results.json and bench/results/ (raw files and logs, git-ignored).
#
#   npm run bench                # BENCH_RUNS (default 1) runs of BENCH_REPS (3) repetitions each
#   npm run bench:smoke          # small sizes, 1 repetition, short phases; writes results/smoke.md
#   BENCH_RUNS=2 npm run bench   # two runs back to back, report = medians over both
#   bash bench/run.sh report [raw..]   # rebuild the report from raw files (default: results/raw-*.json)
#
# Every size and setting is an env var: see README.md (or lib/common.mjs loadConfig()).
set -euo pipefail
cd "$(dirname "$0")"

export BENCH_PGHOST="${BENCH_PGHOST:-127.0.0.1}"
export BENCH_PGPORT="${BENCH_PGPORT:-5432}"
export BENCH_PGUSER="${BENCH_PGUSER:-postgres}"

case "${1:-}" in
  report)
    shift
    if [ "$#" -eq 0 ]; then set -- results/"${BENCH_RAW_PREFIX:-raw}"-*.json; fi
    exec node report.mjs "$@"
    ;;
  smoke)
    # Every peer and scenario once, small: a check that the harness works, not a measurement.
    export BENCH_N="${BENCH_N:-2000}" BENCH_N_C1="${BENCH_N_C1:-500}" BENCH_REPS="${BENCH_REPS:-1}"
    export BENCH_SINGLE_N="${BENCH_SINGLE_N:-200}" BENCH_LAT_SECONDS="${BENCH_LAT_SECONDS:-3}"
    export BENCH_TX_SECONDS="${BENCH_TX_SECONDS:-2}" BENCH_TX_GRACE_MS="${BENCH_TX_GRACE_MS:-1000}"
    export BENCH_PGBENCH_SECONDS="${BENCH_PGBENCH_SECONDS:-3}" BENCH_PGBENCH_C1_SECONDS="${BENCH_PGBENCH_C1_SECONDS:-0}"
    export BENCH_PGBOSS_B1_CAP_S="${BENCH_PGBOSS_B1_CAP_S:-3}"
    export BENCH_REPORT_NAME="${BENCH_REPORT_NAME:-results/smoke}" BENCH_RAW_PREFIX="${BENCH_RAW_PREFIX:-smoke-raw}"
    ;;
  "") ;;
  *) echo "usage: $0 [smoke | report [raw files...]]" >&2; exit 2 ;;
esac

command -v node >/dev/null || { echo "node not found" >&2; exit 1; }
if [ ! -d ../node_modules/graphile-worker ] || [ ! -d ../node_modules/pg-boss ]; then
  echo "installing dependencies (npm ci)" >&2
  (cd .. && npm ci --no-audit --no-fund >&2)
fi
# The effect-tasks adapter imports this package by name, which resolves to ../dist.
echo "building effect-tasks (npm run build)" >&2
(cd .. && npm run --silent build >&2)

if command -v pg_isready >/dev/null; then
  pg_isready -h "$BENCH_PGHOST" -p "$BENCH_PGPORT" -U "$BENCH_PGUSER" >/dev/null || {
    echo "PostgreSQL is not reachable at $BENCH_PGHOST:$BENCH_PGPORT" >&2; exit 1; }
fi

runs="${BENCH_RUNS:-1}"
mkdir -p results
raw="results/${BENCH_RAW_PREFIX:-raw}"
before=$(ls "$raw"-*.json 2>/dev/null | sort || true)
for i in $(seq 1 "$runs"); do
  echo "=== run $i/$runs" >&2
  node bench.mjs 2> >(tee -a "results/bench-$(date -u +%Y%m%dT%H%M%SZ)-$i.log" >&2)
done
after=$(ls "$raw"-*.json 2>/dev/null | sort || true)
new=$(comm -13 <(echo "$before") <(echo "$after") | grep . || true)
# shellcheck disable=SC2086
node report.mjs $new
report="${BENCH_REPORT_NAME:-results}.md"
echo "$report:" >&2
cat "$report"
