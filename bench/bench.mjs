// Orchestrator: runs every scenario for every peer, repetition by repetition,
// interleaving the peers (rotated order per repetition) so that they share the
// machine's noise, then writes results/raw-<stamp>.json and the report.
// Run it through run.sh, which builds this repository first (the effect-tasks adapter
// measures the build in dist/).
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";
import { loadConfig, connectionString, recreateDatabase, withClient, sleep, summarize, packageJson } from "./lib/common.mjs";
import { runPgbenchSuite } from "./lib/pgbench.mjs";
import { checkoutState } from "./lib/checkout.mjs";
import { buildReport } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const cfg = loadConfig();
const t0 = Date.now();
const log = (...a) => console.error(`[bench +${((Date.now() - t0) / 1000).toFixed(0)}s]`, ...a);

function parsePeer(spec) {
  const [adapter, profile = "default"] = spec.split(":");
  return { spec, adapter, profile };
}

const adapters = {};
for (const spec of cfg.peers) {
  const { adapter, profile } = parsePeer(spec);
  adapters[adapter] ??= await import(`./adapters/${adapter}.mjs`);
  if (!adapters[adapter].profiles[profile]) throw new Error(`unknown profile ${profile} for ${adapter}`);
}

// ---- child processes ----
function spawnChild(peer, role, params) {
  const A = adapters[peer.adapter];
  const job = {
    adapter: peer.adapter,
    profile: peer.profile,
    role,
    params,
    connectionString: connectionString(cfg.pg, A.database),
  };
  const child = fork(join(here, "child.mjs"), [JSON.stringify(job)], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  const prefix = `[${peer.spec} ${role}]`;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        console.error(prefix, buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  const queue = [];
  const waiters = [];
  let exited = null;
  child.on("message", (m) => {
    const w = waiters.findIndex((x) => x.types.includes(m.type) || m.type === "error");
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else queue.push(m);
  });
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    for (const w of waiters.splice(0)) w.resolve({ type: "error", error: `child exited (${code ?? signal}) before answering` });
  });
  return {
    child,
    send: (m) => child.send(m),
    async wait(types, timeoutMs = 600000) {
      types = [].concat(types);
      const i = queue.findIndex((m) => types.includes(m.type) || m.type === "error");
      let m;
      if (i >= 0) m = queue.splice(i, 1)[0];
      else if (exited) m = { type: "error", error: `child exited (${exited.code ?? exited.signal})` };
      else {
        let timer;
        m = await Promise.race([
          new Promise((resolve) => waiters.push({ types, resolve })),
          new Promise((resolve) => (timer = setTimeout(() => resolve({ type: "error", error: `timeout waiting for ${types}` }), timeoutMs))),
        ]);
        clearTimeout(timer);
      }
      if (m.type === "error") throw new Error(m.error);
      return m;
    },
    async kill() {
      if (exited) return;
      child.kill("SIGTERM"); // only this child, by its own handle (PID)
      await new Promise((r) => child.once("exit", r));
    },
  };
}

async function runStep(peer, role, params, timeoutMs) {
  const c = spawnChild(peer, role, params);
  try {
    const m = await c.wait("result", timeoutMs);
    return m.result;
  } finally {
    await c.kill().catch(() => {});
  }
}

// ---- scenarios ----
async function scenarioEnqueue(peer) {
  await recreateDatabase(cfg.pg, adapters[peer.adapter].database);
  return runStep(peer, "enqueue", { singleN: cfg.singleN, singleParallel: cfg.singleParallel });
}

async function scenarioThroughput(peer, C) {
  const A = adapters[peer.adapter];
  await recreateDatabase(cfg.pg, A.database);
  const capS = A.drainCapS?.[peer.profile];
  return runStep(peer, "throughput", {
    C,
    n: C === 1 ? cfg.nC1 : cfg.n,
    batch: cfg.batch,
    timeoutS: cfg.drainTimeoutS,
    capS: capS ?? null,
  });
}

function latencyStats(records, startsMap, { skipWarm }) {
  const fromCommit = [];
  const fromCall = [];
  let missing = 0;
  for (const [seq, tCall, tCommit, flag] of records) {
    if (skipWarm && flag) continue;
    const s = startsMap.get(seq);
    if (s === undefined) {
      missing++;
      continue;
    }
    fromCommit.push(s - tCommit);
    fromCall.push(s - tCall);
  }
  return { from_commit_ms: summarize(fromCommit), from_call_ms: summarize(fromCall), missing };
}

async function scenarioLatencyTx(peer) {
  const A = adapters[peer.adapter];
  await recreateDatabase(cfg.pg, A.database);
  const serve = spawnChild(peer, "serve", { C: cfg.latConcurrency });
  try {
    await serve.wait("ready", 60000);
    await sleep(1000); // worker idle before the first job
    const lat = await runStep(peer, "produce-latency", {
      rate: cfg.latRate,
      seconds: cfg.latSeconds,
      warmupS: cfg.latWarmupS,
      seqBase: 0,
    });
    serve.send({ type: "waitCount", n: lat.records.length, timeoutMs: 15000 });
    const c1 = await serve.wait("count");
    await sleep(500);
    const tx = await runStep(peer, "produce-tx", {
      rate: cfg.txRate,
      seconds: cfg.txSeconds,
      rollbackEvery: cfg.txRollbackEvery,
      seqBase: 1_000_000,
    });
    const committed = tx.records.filter((r) => !r[3]);
    const rolledBack = tx.records.filter((r) => r[3]);
    serve.send({ type: "waitCount", n: lat.records.length + committed.length, timeoutMs: 15000 });
    const c2 = await serve.wait("count");
    await sleep(cfg.txGraceMs); // give a wrongly visible job time to show up
    serve.send({ type: "stop" });
    const res = (await serve.wait("result", 60000)).result;
    const starts = new Map(res.starts);
    const userRows = await withClient(connectionString(cfg.pg, A.database), async (c) => {
      const { rows } = await c.query(
        "select count(*) filter (where note = 'committed')::int as committed, count(*) filter (where note <> 'committed')::int as rolled_back from bench_user_rows",
      );
      return rows[0];
    });
    const ranRolledBack = rolledBack.filter((r) => starts.has(r[0])).length;
    return {
      settings: res.settings,
      latency: {
        rate: cfg.latRate,
        seconds: cfg.latSeconds,
        sent: lat.records.length,
        seen_after_wait: c1.seen,
        ...latencyStats(lat.records, starts, { skipWarm: true }),
      },
      tx: {
        rate: cfg.txRate,
        committed: committed.length,
        rolled_back: rolledBack.length,
        rolled_back_that_ran: ranRolledBack,
        user_rows: userRows,
        seen_after_wait: c2.seen - lat.records.length,
        ...latencyStats(committed, starts, { skipWarm: false }),
      },
      duplicates: res.dupes,
      db_state_after_stop: res.db_state_after_stop,
    };
  } finally {
    await serve.kill().catch(() => {});
  }
}

// ---- metadata ----
async function meta() {
  const pgVersion = await withClient(connectionString(cfg.pg, "postgres"), async (c) => {
    const v = (await c.query("select version()")).rows[0].version;
    const s = (
      await c.query(
        "select name, setting from pg_settings where name in ('synchronous_commit','fsync','shared_buffers','max_connections','wal_level','full_page_writes')",
      )
    ).rows;
    return { version: v, settings: Object.fromEntries(s.map((r) => [r.name, r.setting])) };
  });
  const peers = {};
  for (const spec of cfg.peers) {
    const { adapter, profile } = parsePeer(spec);
    const A = adapters[adapter];
    let engines = null;
    try {
      engines = packageJson(A.packageName).engines ?? null;
    } catch {
      // not an npm package (e.g. a library imported by relative path)
    }
    peers[spec] = {
      package: A.packageName,
      version: A.version,
      engines,
      database: A.database,
      profile,
      notes: A.notes?.[profile] ?? null,
      in_transaction: A.inTransaction ?? null,
    };
  }
  return {
    started_at: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    loadavg_at_start: loadavg(),
    checkout: checkoutState(),
    postgres: pgVersion,
    peers,
  };
}

// ---- main ----
const raw = { meta: await meta(), config: { ...cfg, pg: { ...cfg.pg, password: cfg.pg.password ? "***" : undefined } }, runs: [] };
const peers = cfg.peers.map(parsePeer);
log(`peers: ${cfg.peers.join(", ")}; reps: ${cfg.reps}; scenarios: ${cfg.scenarios.join(", ")}`);

// The 1-minute load average every 30 s, so the report says how busy the machine was.
raw.meta.loadavg_1m_during = [];
const sampleLoad = () => raw.meta.loadavg_1m_during.push([Math.round((Date.now() - t0) / 1000), loadavg()[0]]);
sampleLoad();
const loadSampler = setInterval(sampleLoad, 30000);

async function record(rep, scenario, peer, extra, fn) {
  const started = Date.now();
  try {
    const result = await fn();
    raw.runs.push({ rep, scenario, peer: peer?.spec ?? null, ...extra, result, wall_s: (Date.now() - started) / 1000 });
    return result;
  } catch (err) {
    log(`ERROR ${scenario} ${peer?.spec ?? ""} ${JSON.stringify(extra)}: ${err.message}`);
    raw.runs.push({ rep, scenario, peer: peer?.spec ?? null, ...extra, error: String(err.message), wall_s: (Date.now() - started) / 1000 });
    return null;
  }
}

const has = (s) => cfg.scenarios.includes(s);
for (let rep = 1; rep <= cfg.reps; rep++) {
  const k = (rep - 1) % peers.length;
  const order = [...peers.slice(k), ...peers.slice(0, k)];
  log(`=== repetition ${rep}/${cfg.reps}; order: ${order.map((p) => p.spec).join(", ")}`);
  if (has("enqueue")) {
    for (const p of order) {
      const r = await record(rep, "enqueue", p, {}, () => scenarioEnqueue(p));
      if (r) log(`enqueue ${p.spec}: single ${r.single_seq_per_s.toFixed(0)}/s, ${cfg.singleParallel} in flight ${r.single_par_per_s.toFixed(0)}/s`);
    }
  }
  if (has("throughput")) {
    for (const C of cfg.concurrencies) {
      for (const p of order) {
        const r = await record(rep, "throughput", p, { C }, () => scenarioThroughput(p, C));
        if (r)
          log(
            `throughput ${p.spec} C=${C}: ${r.jobs_per_s.toFixed(0)} jobs/s${r.limited ? ` (${r.limit_reason})` : ""}; bulk enqueue ${r.bulk_enqueue_per_s.toFixed(0)}/s; dupes ${r.duplicates}, missing ${r.missing}`,
          );
      }
    }
  }
  if (has("latency")) {
    for (const p of order) {
      const r = await record(rep, "latency", p, { C: cfg.latConcurrency }, () => scenarioLatencyTx(p));
      if (r)
        log(
          `latency ${p.spec}: p50 ${r.latency.from_commit_ms.p50?.toFixed(2)} p99 ${r.latency.from_commit_ms.p99?.toFixed(2)} ms; tx p50 ${r.tx.from_commit_ms.p50?.toFixed(2)} ms, rolled-back that ran: ${r.tx.rolled_back_that_ran}`,
        );
    }
  }
  if (has("pgbench")) {
    const r = await record(rep, "pgbench", null, {}, () => runPgbenchSuite(cfg, log));
    if (r?.cases) log(`pgbench: ${r.cases.map((c) => `${c.name} c${c.clients} ${c.tps?.toFixed(0)} tps`).join("; ")}`);
  }
}
clearInterval(loadSampler);
sampleLoad();
raw.meta.finished_at = new Date().toISOString();
raw.meta.wall_s = (Date.now() - t0) / 1000;

mkdirSync(join(here, "results"), { recursive: true });
const stamp = raw.meta.started_at.replace(/[:.]/g, "-");
const rawFile = join(here, "results", `${cfg.rawPrefix}-${stamp}.json`);
writeFileSync(rawFile, JSON.stringify(raw, null, 1));
log(`raw results: ${relative(process.cwd(), rawFile)}`);

// Report for this run alone; run.sh rebuilds it over all runs of one invocation.
const { json, md } = buildReport([raw]);
writeFileSync(join(here, `${cfg.reportName}.json`), JSON.stringify(json, null, 1));
writeFileSync(join(here, `${cfg.reportName}.md`), md);
log(`wrote ${cfg.reportName}.json and ${cfg.reportName}.md; total ${raw.meta.wall_s.toFixed(0)} s`);
