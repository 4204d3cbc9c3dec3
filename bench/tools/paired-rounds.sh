#!/bin/bash
# Compares profiles of the effect-tasks adapter on a machine whose speed drifts: ROUNDS rounds, each
# one drain (profile-effect-tasks.mjs) per profile back to back, the order alternating by round; then,
# for each profile after the first, the median (min, max) of its per-round ratio to the first, for
# throughput and for worker CPU per task. Each drain runs N tasks with 10 handlers at once (C = 10).
# Measures dist/: run `npm run build` first. Needs bash 4. Keep the machine otherwise idle.
#
#   bash bench/tools/paired-rounds.sh ROUNDS N PROFILE...      e.g.  8 20000 default traced sampled
set -euo pipefail
export LC_ALL=C
rounds=$1; n=$2; shift 2
profiles=("$@")
here=$(cd "$(dirname "$0")" && pwd)
declare -A jobs cpu
for i in $(seq 1 "$rounds"); do
  order=("${profiles[@]}")
  if (( i % 2 == 0 )); then order=(); for (( k=${#profiles[@]}-1; k>=0; k-- )); do order+=("${profiles[k]}"); done; fi
  line="round $i"
  for p in "${order[@]}"; do
    log=$(mktemp)
    if ! out=$(node "$here/profile-effect-tasks.mjs" drain "$n" 10 "$p" 2>"$log") || ! grep -q '"jobs_per_s"' <<<"$out"; then
      echo "round $i, profile $p: the drain failed; its output:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    rm -f "$log"
    jobs[$i,$p]=$(echo "$out" | grep '"jobs_per_s"' | grep -oE '[0-9.]+' | head -1)
    cpu[$i,$p]=$(echo "$out" | grep '"worker_cpu_us_per_job"' | grep -oE '[0-9.]+' | head -1)
    line="$line | $p ${jobs[$i,$p]%.*}/s ${cpu[$i,$p]%.*} µs"
  done
  echo "$line"
done
summary() { sort -n | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.3f (%.3f-%.3f)", m, a[1], a[NR]}'; }
first=${profiles[0]}
for p in "${profiles[@]:1}"; do
  t=$(for i in $(seq 1 "$rounds"); do awk -v a="${jobs[$i,$p]}" -v b="${jobs[$i,$first]}" 'BEGIN {print a / b}'; done | summary)
  c=$(for i in $(seq 1 "$rounds"); do awk -v a="${cpu[$i,$p]}" -v b="${cpu[$i,$first]}" 'BEGIN {print a / b}'; done | summary)
  echo "$p / $first: throughput $t, worker CPU per task $c"
done
