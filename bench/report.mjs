// Builds results.json (aggregates) and results.md (tables) from one or more raw
// run files. Medians are taken over every repetition of every run given;
// ratios are computed within each repetition (same run, same minutes of machine
// noise) and then their median is reported.
// CLI: node report.mjs results/raw-A.json results/raw-B.json ...
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadConfig, median } from "./lib/common.mjs";
import { describeCheckout } from "./lib/checkout.mjs";

const fmt = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(d));
const fmtInt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "–" : Math.round(v).toLocaleString("en-US"));

function agg(values) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  if (!v.length) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

function cell(a, d = 0, { range = true } = {}) {
  if (!a) return "–";
  const f = d === 0 ? fmtInt : (x) => fmt(x, d);
  return range && a.n > 1 ? `${f(a.median)} (${f(a.min)}–${f(a.max)})` : f(a.median);
}

export function buildReport(raws) {
  // flatten runs with a repetition key unique across raw files
  const runs = [];
  raws.forEach((raw, ri) => {
    for (const r of raw.runs) runs.push({ ...r, key: `${ri}:${r.rep}`, runIdx: ri });
  });
  const cfg = raws[0].config;
  const peers = [...new Set(raws.flatMap((r) => r.config.peers))];
  const ref = process.env.BENCH_REF || peers[0];
  const concurrencies = [...new Set(raws.flatMap((r) => r.config.concurrencies))].sort((a, b) => a - b);
  const ok = (r) => r.result && !r.error;

  const sel = (scenario, peer, pred = () => true) => runs.filter((r) => r.scenario === scenario && r.peer === peer && ok(r) && pred(r));

  // ---- throughput ----
  const throughput = {};
  for (const p of peers) {
    throughput[p] = {};
    for (const C of concurrencies) {
      const rs = sel("throughput", p, (r) => r.C === C);
      const ratios = [];
      for (const r of rs) {
        const base = runs.find((x) => x.scenario === "throughput" && x.peer === ref && x.C === C && x.key === r.key && ok(x));
        if (base) ratios.push(r.result.jobs_per_s / base.result.jobs_per_s);
      }
      throughput[p][C] = {
        jobs_per_s: agg(rs.map((r) => r.result.jobs_per_s)),
        jobs_per_s_after_first: agg(rs.map((r) => r.result.jobs_per_s_after_first)),
        ratio_vs_ref: agg(ratios),
        startup_ms: agg(rs.map((r) => r.result.startup_ms)),
        commits_per_job: agg(rs.map((r) => r.result.commits_per_job)),
        wal_bytes_per_job: agg(rs.map((r) => r.result.wal_bytes_per_job)),
        worker_cpu_us_per_job: agg(rs.map((r) => r.result.worker_cpu_us_per_job)),
        backend_cpu_us_per_job: agg(rs.map((r) => r.result.backend_cpu_us_per_job)),
        machine_cpu_util: agg(rs.map((r) => r.result.machine_cpu_util)),
        limited: rs.some((r) => r.result.limited),
        limit_reason: rs.find((r) => r.result.limited)?.result.limit_reason ?? null,
        duplicates: rs.reduce((a, r) => a + r.result.duplicates, 0),
        missing: rs.reduce((a, r) => a + (r.result.missing ?? 0), 0),
        not_completed_in_db: rs.reduce((a, r) => a + (r.result.limited ? 0 : r.result.db_state_after_stop.remaining), 0),
        n_jobs: rs[0]?.result.n ?? null,
        reps: rs.length,
        errors: runs.filter((r) => r.scenario === "throughput" && r.peer === p && r.C === C && r.error).map((r) => r.error),
      };
    }
  }

  // ---- enqueue ----
  const enqueue = {};
  for (const p of peers) {
    const es = sel("enqueue", p);
    const ts = sel("throughput", p);
    const ratio = (field, scen) => {
      const out = [];
      for (const r of sel(scen, p)) {
        const base = runs.find((x) => x.scenario === scen && x.peer === ref && x.key === r.key && x.C === r.C && ok(x));
        if (base) out.push(r.result[field] / base.result[field]);
      }
      return agg(out);
    };
    enqueue[p] = {
      bulk_per_s: agg(ts.map((r) => r.result.bulk_enqueue_per_s)),
      bulk_ratio_vs_ref: ratio("bulk_enqueue_per_s", "throughput"),
      single_seq_per_s: agg(es.map((r) => r.result.single_seq_per_s)),
      single_seq_ratio_vs_ref: ratio("single_seq_per_s", "enqueue"),
      single_par_per_s: agg(es.map((r) => r.result.single_par_per_s)),
      single_par_ratio_vs_ref: ratio("single_par_per_s", "enqueue"),
    };
  }

  // ---- latency and transactional enqueue ----
  const latency = {};
  const tx = {};
  for (const p of peers) {
    const ls = sel("latency", p);
    const pick = (part, series, q) => agg(ls.map((r) => r.result[part][series][q]));
    latency[p] = {
      p50: pick("latency", "from_commit_ms", "p50"),
      p95: pick("latency", "from_commit_ms", "p95"),
      p99: pick("latency", "from_commit_ms", "p99"),
      max: pick("latency", "from_commit_ms", "max"),
      mean: pick("latency", "from_commit_ms", "mean"),
      from_call_p50: pick("latency", "from_call_ms", "p50"),
      from_call_p99: pick("latency", "from_call_ms", "p99"),
      samples_per_rep: ls[0]?.result.latency.from_commit_ms.n ?? null,
      missing: ls.reduce((a, r) => a + r.result.latency.missing, 0),
      duplicates: ls.reduce((a, r) => a + r.result.duplicates, 0),
      reps: ls.length,
      errors: runs.filter((r) => r.scenario === "latency" && r.peer === p && r.error).map((r) => r.error),
    };
    tx[p] = {
      p50: pick("tx", "from_commit_ms", "p50"),
      p95: pick("tx", "from_commit_ms", "p95"),
      p99: pick("tx", "from_commit_ms", "p99"),
      max: pick("tx", "from_commit_ms", "max"),
      committed: ls.reduce((a, r) => a + r.result.tx.committed, 0),
      committed_seen: ls.reduce((a, r) => a + r.result.tx.committed - r.result.tx.missing, 0),
      rolled_back: ls.reduce((a, r) => a + r.result.tx.rolled_back, 0),
      rolled_back_that_ran: ls.reduce((a, r) => a + r.result.tx.rolled_back_that_ran, 0),
      user_rows_ok: ls.every((r) => r.result.tx.user_rows.committed === r.result.tx.committed && r.result.tx.user_rows.rolled_back === 0),
      reps: ls.length,
    };
  }

  // ---- pgbench ----
  const pgbench = {};
  for (const r of runs.filter((x) => x.scenario === "pgbench" && ok(x))) {
    for (const c of r.result.cases ?? []) {
      const k = `${c.name} -c ${c.clients}`;
      (pgbench[k] ??= { name: c.name, clients: c.clients, args: c.args, tps: [], lat: [] });
      pgbench[k].tps.push(c.tps);
      pgbench[k].lat.push(c.latency_avg_ms);
    }
  }
  for (const k of Object.keys(pgbench)) {
    pgbench[k].tps = agg(pgbench[k].tps);
    pgbench[k].latency_avg_ms = agg(pgbench[k].lat);
    delete pgbench[k].lat;
  }

  // per-run medians (run-to-run stability), throughput at each C
  const perRun = raws.map((raw, ri) => {
    const out = { started_at: raw.meta.started_at, wall_s: raw.meta.wall_s, loadavg_at_start: raw.meta.loadavg_at_start, throughput: {}, latency_p50: {} };
    for (const p of peers) {
      out.throughput[p] = {};
      for (const C of concurrencies) {
        out.throughput[p][C] = median(runs.filter((r) => r.runIdx === ri && r.scenario === "throughput" && r.peer === p && r.C === C && ok(r)).map((r) => r.result.jobs_per_s));
      }
      out.latency_p50[p] = median(runs.filter((r) => r.runIdx === ri && r.scenario === "latency" && r.peer === p && ok(r)).map((r) => r.result.latency.from_commit_ms.p50));
    }
    return out;
  });

  const loadDuring = raws.flatMap((r) => (r.meta.loadavg_1m_during ?? []).map(([, l]) => l));
  const json = {
    generated_at: new Date().toISOString(),
    runs: raws.map((r) => ({ started_at: r.meta.started_at, finished_at: r.meta.finished_at, reps: r.config.reps, checkout: r.meta.checkout })),
    loadavg_1m_during: agg(loadDuring),
    meta: raws[0].meta,
    config: cfg,
    reference_peer: ref,
    throughput,
    enqueue,
    latency,
    transactional: tx,
    pgbench,
    per_run: perRun,
  };

  // ---- markdown ----
  const L = [];
  const m = raws[0].meta;
  const totalReps = raws.reduce((a, r) => a + r.config.reps, 0);
  L.push("# effect-tasks beside PostgreSQL job queues for Node.js, on one machine", "");
  L.push(
    `Generated ${json.generated_at} from ${raws.length} run(s) of the benchmark in \`bench/\` (see its README.md), ${totalReps} repetition(s) in all. ` +
      `Every number is the **median over all repetitions** (min–max in brackets). Ratios are computed within each repetition against **${ref}** and then their median is taken.`,
    "",
  );
  const checkouts = [...new Set(raws.map((r) => (r.meta.checkout ? describeCheckout(r.meta.checkout) : "not recorded")))];
  L.push(`effect-tasks measured from this repository's build: ${checkouts.join("; ")}${raws[0].meta.checkout?.subject ? ` — "${raws[0].meta.checkout.subject}"` : ""}.`, "");
  L.push(
    `Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, ${m.postgres.version.split(" on ")[0]} on the same machine ` +
      `(synchronous_commit=${m.postgres.settings.synchronous_commit}, fsync=${m.postgres.settings.fsync}, shared_buffers=${m.postgres.settings.shared_buffers}×8kB). ` +
      `Load average at start: ${raws.map((r) => r.meta.loadavg_at_start.map((x) => x.toFixed(2)).join("/")).join("; ")}` +
      (json.loadavg_1m_during
        ? `; 1-minute load during the run: median ${fmt(json.loadavg_1m_during.median, 2)}, ${fmt(json.loadavg_1m_during.min, 2)}–${fmt(json.loadavg_1m_during.max, 2)} (${json.loadavg_1m_during.n} samples, one every 30 s).`
        : "."),
    "",
  );
  L.push("## Summary", "");
  L.push(
    "Medians. Throughput: no-op jobs, worker start → all completed in the database. Latency: enqueue commit → handler start at a steady rate. Costs per job at C=10 (commits, WAL bytes, CPU of the worker process and of its PostgreSQL backends).",
    "",
  );
  const c10 = concurrencies.includes(10) ? 10 : concurrencies[Math.floor(concurrencies.length / 2)];
  L.push(
    `| peer | ${concurrencies.map((C) => `jobs/s C=${C}`).join(" | ")} | latency p50 / p99 ms | tx latency p50 ms | enqueue bulk / single / ${cfg.singleParallel} in flight per s | commits/job | WAL B/job | worker CPU µs/job | backend CPU µs/job |`,
    `|---|${concurrencies.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|---:|---:|`,
  );
  for (const p of peers) {
    const t = throughput[p];
    const e = enqueue[p];
    const l = latency[p];
    const c = t[c10] ?? {};
    L.push(
      `| ${p} | ${concurrencies.map((C) => fmtInt(t[C].jobs_per_s?.median) + (t[C].limited ? " †" : "")).join(" | ")} | ${fmt(l.p50?.median, 2)} / ${fmt(l.p99?.median, 2)} | ${fmt(tx[p].p50?.median, 2)} | ${fmtInt(e.bulk_per_s?.median)} / ${fmtInt(e.single_seq_per_s?.median)} / ${fmtInt(e.single_par_per_s?.median)} | ${fmt(c.commits_per_job?.median, 2)} | ${fmtInt(c.wal_bytes_per_job?.median)} | ${fmtInt(c.worker_cpu_us_per_job?.median)} | ${fmtInt(c.backend_cpu_us_per_job?.median)} |`,
    );
  }
  L.push("");
  L.push("## Peers and settings", "");
  L.push("| peer | package | settings (anything not listed is the library default) |", "|---|---|---|");
  for (const p of peers) {
    const info = raws.map((r) => r.meta.peers[p]).find(Boolean);
    L.push(`| ${p} | ${info.package}@${info.version} | ${info.notes ?? ""} |`);
  }
  L.push("");
  const engineNotes = peers
    .map((p) => raws.map((r) => r.meta.peers[p]).find(Boolean))
    .filter((i, k, a) => i?.engines?.node && a.findIndex((j) => j.package === i.package) === k)
    .map((i) => `${i.package}@${i.version.split(" ")[0]} declares node ${i.engines.node}`);
  if (engineNotes.length) L.push(`Engines: ${engineNotes.join("; ")}; measured on Node ${m.node}.`, "");

  L.push(`## 1. Bulk throughput (jobs/s, no-op jobs, worker start → all completed in DB)`, "");
  L.push(
    `N = ${cfg.n} jobs (${cfg.nC1} at C=1), enqueued beforehand in batches of ${cfg.batch}; fresh database per run; \`VACUUM ANALYZE\` before the worker starts. ` +
      `C = most handlers running at once in the one worker process.`,
    "",
  );
  L.push(`| peer | ${concurrencies.map((C) => `C=${C}`).join(" | ")} | ${concurrencies.map((C) => `× ${ref} C=${C}`).join(" | ")} |`);
  L.push(`|---|${concurrencies.map(() => "---:").join("|")}|${concurrencies.map(() => "---:").join("|")}|`);
  for (const p of peers) {
    const t = throughput[p];
    L.push(
      `| ${p} | ${concurrencies.map((C) => cell(t[C].jobs_per_s) + (t[C].limited ? " †" : "")).join(" | ")} | ${concurrencies
        .map((C) => (t[C].ratio_vs_ref ? fmt(t[C].ratio_vs_ref.median, 2) : "–"))
        .join(" | ")} |`,
    );
  }
  const limitedNotes = peers.flatMap((p) => concurrencies.filter((C) => throughput[p][C].limited).map((C) => `${p} C=${C}: ${throughput[p][C].limit_reason}`));
  if (limitedNotes.length) L.push("", `† not all N jobs were run: rate = jobs completed in the window / window (${[...new Set(limitedNotes.map((s) => s.split(": ")[1]))].join("; ")}).`);
  L.push("");
  L.push(
    "Per-job cost at each C (medians): DB commits per job (`pg_stat_database`, through the worker's stop) · WAL bytes per job (LSN delta: cluster-wide, so an upper bound on a shared server) · " +
      "worker-process CPU µs per job · CPU µs per job of the PostgreSQL backends serving the database (from /proc, sampled every 200 ms; – when the server is not on this machine) · whole-machine CPU use during the drain; worker startup ms.",
    "",
  );
  L.push(`| peer | C | commits/job | WAL B/job | worker CPU µs/job | backend CPU µs/job | machine CPU | startup ms | jobs/s after 1st job |`, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const p of peers)
    for (const C of concurrencies) {
      const t = throughput[p][C];
      L.push(
        `| ${p} | ${C} | ${fmt(t.commits_per_job?.median, 2)} | ${fmtInt(t.wal_bytes_per_job?.median)} | ${fmtInt(t.worker_cpu_us_per_job?.median)} | ${fmtInt(t.backend_cpu_us_per_job?.median)} | ${t.machine_cpu_util ? fmt(t.machine_cpu_util.median * 100) + "%" : "–"} | ${fmtInt(t.startup_ms?.median)} | ${fmtInt(t.jobs_per_s_after_first?.median)} |`,
      );
    }
  L.push("");
  L.push("Correctness of the drains (all repetitions): duplicate executions · jobs never run · jobs not completed in the DB after a full drain.", "");
  L.push("| peer | duplicates | missing | not completed in DB | errors |", "|---|---:|---:|---:|---|");
  for (const p of peers) {
    const ts = concurrencies.map((C) => throughput[p][C]);
    L.push(
      `| ${p} | ${ts.reduce((a, t) => a + t.duplicates, 0)} | ${ts.reduce((a, t) => a + t.missing, 0)} | ${ts.reduce((a, t) => a + t.not_completed_in_db, 0)} | ${ts.flatMap((t) => t.errors).length || ""} |`,
    );
  }
  L.push("");

  L.push("## Enqueue rate (jobs/s)", "");
  L.push(
    `bulk = batch-insert API (${cfg.batch} jobs per call, one call at a time, into an empty queue); single = one job per call awaited one at a time (${cfg.singleN} jobs), and with ${cfg.singleParallel} calls in flight.`,
    "",
  );
  L.push(`| peer | bulk | single, sequential | single, ${cfg.singleParallel} in flight | × ${ref} (bulk / seq / parallel) |`, "|---|---:|---:|---:|---:|");
  for (const p of peers) {
    const e = enqueue[p];
    L.push(
      `| ${p} | ${cell(e.bulk_per_s)} | ${cell(e.single_seq_per_s)} | ${cell(e.single_par_per_s)} | ${fmt(e.bulk_ratio_vs_ref?.median, 2)} / ${fmt(e.single_seq_ratio_vs_ref?.median, 2)} / ${fmt(e.single_par_ratio_vs_ref?.median, 2)} |`,
    );
  }
  L.push("");

  L.push("## 2. Latency: enqueue commit → handler start (ms)", "");
  L.push(
    `Idle worker (C=${cfg.latConcurrency}) in its own process; a producer process enqueues one job at a time at ${cfg.latRate}/s for ${cfg.latSeconds} s (first ${cfg.latWarmupS} s discarded). ` +
      `Both timestamps from CLOCK_MONOTONIC; "commit" = the enqueue call returned. Medians over repetitions of each repetition's percentile.`,
    "",
  );
  L.push("| peer | p50 | p95 | p99 | max | mean | p50 from call start | jobs/rep | missing | dup |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const p of peers) {
    const l = latency[p];
    L.push(
      `| ${p} | ${cell(l.p50, 2)} | ${cell(l.p95, 2)} | ${cell(l.p99, 2)} | ${cell(l.max, 1)} | ${cell(l.mean, 2, { range: false })} | ${cell(l.from_call_p50, 2, { range: false })} | ${l.samples_per_rep ?? "–"} | ${l.missing} | ${l.duplicates} |`,
    );
  }
  L.push("");

  L.push("## 3. Transactional enqueue", "");
  L.push(
    `Producer: \`BEGIN; INSERT INTO bench_user_rows …; <enqueue on the same client>; COMMIT\` at ${cfg.txRate}/s for ${cfg.txSeconds} s; every ${cfg.txRollbackEvery}th transaction ends in ROLLBACK instead. ` +
      `Latency = COMMIT returned → handler start. "rolled back → ran" counts rolled-back jobs seen by a handler within ${cfg.txGraceMs} ms after the committed ones ran (must be 0).`,
    "",
  );
  const txMethods = [...new Set(peers.map((p) => raws.map((r) => r.meta.peers[p]).find(Boolean)).filter((i) => i?.in_transaction).map((i) => `- ${i.package}: ${i.in_transaction}`))];
  if (txMethods.length) L.push("Enqueue on the caller's client:", "", ...txMethods, "");
  L.push("| peer | p50 | p95 | p99 | max | committed → ran | rolled back → ran | user rows match |", "|---|---:|---:|---:|---:|---:|---:|---|");
  for (const p of peers) {
    const t = tx[p];
    L.push(
      `| ${p} | ${cell(t.p50, 2)} | ${cell(t.p95, 2)} | ${cell(t.p99, 2)} | ${cell(t.max, 1)} | ${t.committed_seen}/${t.committed} | ${t.rolled_back_that_ran}/${t.rolled_back} | ${t.reps ? (t.user_rows_ok ? "yes" : "NO") : "–"} |`,
    );
  }
  L.push("");

  L.push("## 4. Physical limit reference (pgbench)", "");
  L.push("Scratch database, `pgbench -n -T <s>` with custom scripts (one statement per transaction, every transaction a durable commit).", "");
  L.push("| script | clients | tps | avg latency ms | arguments |", "|---|---:|---:|---:|---|");
  for (const k of Object.keys(pgbench)) {
    const b = pgbench[k];
    L.push(`| ${b.name} | ${b.clients} | ${cell(b.tps)} | ${cell(b.latency_avg_ms, 2, { range: false })} | \`${b.args}\` |`);
  }
  L.push("");

  if (raws.length > 1) {
    L.push("## Run-to-run stability (median of each run)", "");
    L.push(`| run started | ${peers.flatMap((p) => concurrencies.map((C) => `${p} C=${C}`)).join(" | ")} |`);
    L.push(`|---|${peers.flatMap(() => concurrencies.map(() => "---:")).join("|")}|`);
    for (const r of perRun) L.push(`| ${r.started_at} | ${peers.flatMap((p) => concurrencies.map((C) => fmtInt(r.throughput[p][C]))).join(" | ")} |`);
    L.push("");
  }
  return { json, md: L.join("\n") };
}

// CLI
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error("usage: node report.mjs results/raw-*.json");
    process.exit(2);
  }
  const raws = files.map((f) => JSON.parse(readFileSync(f, "utf8")));
  const { json, md } = buildReport(raws);
  const here = fileURLToPath(new URL(".", import.meta.url));
  const name = loadConfig().reportName;
  writeFileSync(`${here}${name}.json`, JSON.stringify(json, null, 1));
  writeFileSync(`${here}${name}.md`, md);
  console.error(`wrote ${name}.json and ${name}.md from ${files.length} run(s)`);
}
