#!/bin/bash
# Compares profiles of the effect-tasks adapter on a machine whose speed drifts: one warm-up drain
# (not counted), then ROUNDS rounds, each one drain (profile-effect-tasks.mjs) per profile back to
# back, the order reversed every other round. For each profile after the first it prints the median
# (min-max) of its per-round ratio to the first, for throughput and for worker CPU per task, and the
# median of the per-round differences of worker CPU per task. Each drain runs N tasks with 10
# handlers at once (C = 10); a drain that loses or repeats a task fails the run.
# Measures dist/: run `npm run build` first. Needs bash 4. Keep the machine otherwise idle.
#
#   bash bench/tools/paired-rounds.sh ROUNDS N PROFILE...      e.g.  8 20000 default traced sampled
set -euo pipefail
export LC_ALL=C
if (( $# < 4 )); then
  echo "usage: bash bench/tools/paired-rounds.sh ROUNDS N PROFILE PROFILE..." >&2
  exit 2
fi
rounds=$1; n=$2; shift 2
profiles=("$@")
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# One drain of profile $1; sets the globals jps and cpus, or stops the run saying why.
drain() {
  local out
  if ! out=$(node "$here/profile-effect-tasks.mjs" drain "$n" 10 "$1" 2>"$log"); then
    echo "profile $1: the drain failed; its last lines:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  field() { sed -nE "s/^ *\"$1\": *([0-9.]+),?$/\\1/p" <<<"$out" | head -n 1; }
  jps=$(field jobs_per_s); cpus=$(field worker_cpu_us_per_job)
  if [[ ! $jps =~ ^[0-9.]+$ || ! $cpus =~ ^[0-9.]+$ ]]; then
    echo "profile $1: no throughput or CPU figure in the drain's output" >&2
    exit 1
  fi
  if [[ $(field missing) != 0 || $(field duplicates) != 0 ]]; then
    echo "profile $1: the drain lost or repeated tasks (missing $(field missing), duplicates $(field duplicates))" >&2
    exit 1
  fi
}

drain "${profiles[0]}"
declare -A jobs cpu
for i in $(seq 1 "$rounds"); do
  order=("${profiles[@]}")
  if (( i % 2 == 0 )); then order=(); for (( k=${#profiles[@]}-1; k>=0; k-- )); do order+=("${profiles[k]}"); done; fi
  line="round $i"
  for p in "${order[@]}"; do
    drain "$p"
    jobs[$i,$p]=$jps; cpu[$i,$p]=$cpus
    line="$line | $p ${jps%.*}/s ${cpus%.*} µs"
  done
  echo "$line"
done

# Median (min-max) of the numbers on standard input, one per line.
summary() { sort -n | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.3f (%.3f-%.3f)", m, a[1], a[NR]}'; }
first=${profiles[0]}
for p in "${profiles[@]:1}"; do
  t=$(for i in $(seq 1 "$rounds"); do awk -v a="${jobs[$i,$p]}" -v b="${jobs[$i,$first]}" 'BEGIN {print a / b}'; done | summary)
  c=$(for i in $(seq 1 "$rounds"); do awk -v a="${cpu[$i,$p]}" -v b="${cpu[$i,$first]}" 'BEGIN {print a / b}'; done | summary)
  d=$(for i in $(seq 1 "$rounds"); do awk -v a="${cpu[$i,$p]}" -v b="${cpu[$i,$first]}" 'BEGIN {print a - b}'; done | summary)
  echo "$p / $first: throughput $t, worker CPU per task $c; CPU per task $p - $first: $d µs"
done
