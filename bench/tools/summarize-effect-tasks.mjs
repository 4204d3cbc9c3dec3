// Ratios of effect-tasks profiles against graphile-worker and against the best peer, computed
// within each repetition (like report.mjs) and then the median; plus the per-job costs.
//   node bench/tools/summarize-effect-tasks.mjs bench/results/raw-<stamp>.json [...]
import { readFileSync } from "node:fs";
import { median } from "../lib/common.mjs";
const raws = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, "utf8")));
const runs = raws.flatMap((r, i) => r.runs.map((x) => ({ ...x, rep: `${i}:${x.rep}` })));
const ours = [...new Set(runs.map((r) => r.peer).filter((p) => p?.startsWith("effect-tasks")))];
const peers = [...new Set(runs.map((r) => r.peer).filter((p) => p && !p.startsWith("effect-tasks")))];
const reps = [...new Set(runs.map((r) => r.rep))];
const f = (x, d = 2) => (x === null || x === undefined ? "–" : x.toFixed(d));
const get = (scenario, peer, rep, C) => runs.find((r) => r.scenario === scenario && r.peer === peer && r.rep === rep && (C === undefined || r.C === C))?.result;
const lines = [];
lines.push("| profile | metric | C=1 | C=10 | C=50 |", "|---|---|---:|---:|---:|");
for (const o of ours) {
  const row = (name, fn) => lines.push(`| ${o} | ${name} | ${[1, 10, 50].map((C) => f(median(reps.map((rep) => fn(rep, C))))).join(" | ")} |`);
  row("× graphile-worker", (rep, C) => get("throughput", o, rep, C)?.jobs_per_s / get("throughput", "graphile-worker", rep, C)?.jobs_per_s);
  row("× best peer", (rep, C) => get("throughput", o, rep, C)?.jobs_per_s / Math.max(...peers.map((p) => get("throughput", p, rep, C)?.jobs_per_s ?? 0)));
}
lines.push("", "best peer per repetition and C: " + reps.map((rep) => [1, 10, 50].map((C) => { const b = peers.map((p) => [p, get("throughput", p, rep, C)?.jobs_per_s ?? 0]).sort((a, b) => b[1] - a[1])[0]; return `rep ${rep} C=${C}: ${b[0]} ${b[1].toFixed(0)}`; }).join("; ")).join(" | "));
// enqueue ratios
lines.push("", "| profile | bulk × gw | bulk × best | single seq × gw | single seq × best | 10 in flight × gw | 10 in flight × best |", "|---|---:|---:|---:|---:|---:|---:|");
for (const o of ours) {
  const r = (key, scen) => [
    median(reps.map((rep) => (scen(o, rep)?.[key]) / (scen("graphile-worker", rep)?.[key]))),
    median(reps.map((rep) => (scen(o, rep)?.[key]) / Math.max(...peers.map((p) => scen(p, rep)?.[key] ?? 0)))),
  ];
  const bulk = r("bulk_enqueue_per_s", (p, rep) => get("throughput", p, rep, 10));
  const seq = r("single_seq_per_s", (p, rep) => get("enqueue", p, rep));
  const par = r("single_par_per_s", (p, rep) => get("enqueue", p, rep));
  lines.push(`| ${o} | ${[...bulk, ...seq, ...par].map((x) => f(x)).join(" | ")} |`);
}
// latency ratios
lines.push("", "| profile | latency p50 × gw | p99 × gw | tx p50 × gw |", "|---|---:|---:|---:|");
for (const o of ours) {
  const q = (sel) => f(median(reps.map((rep) => sel(get("latency", o, rep)) / sel(get("latency", "graphile-worker", rep)))));
  lines.push(`| ${o} | ${q((r) => r?.latency.from_commit_ms.p50)} | ${q((r) => r?.latency.from_commit_ms.p99)} | ${q((r) => r?.tx.from_commit_ms.p50)} |`);
}
// correctness across all runs of ours
for (const o of ours) {
  const t = runs.filter((r) => r.peer === o);
  const errors = t.filter((r) => r.error).map((r) => `${r.scenario} C=${r.C}: ${r.error.slice(0, 200)}`);
  const dup = t.reduce((s, r) => s + (r.result?.duplicates ?? 0), 0);
  const miss = t.reduce((s, r) => s + (r.result?.missing ?? 0) + (r.result?.latency?.missing ?? 0) + (r.result?.tx?.missing ?? 0), 0);
  const limited = t.filter((r) => r.result?.limited).map((r) => `C=${r.C} rep ${r.rep}`);
  const rb = t.reduce((s, r) => s + (r.result?.tx?.rolled_back_that_ran ?? 0), 0);
  const notDone = t.reduce((s, r) => s + (r.result?.db_state_after_stop?.remaining ?? 0), 0);
  lines.push("", `${o}: duplicates ${dup}, missing ${miss}, rolled-back that ran ${rb}, not completed after stop ${notDone}, drains limited by timeout: ${limited.join(", ") || "none"}, errors: ${errors.join("; ") || "none"}`);
}
console.log(lines.join("\n"));
