// Shared helpers for the peer benchmark: configuration from env vars, monotonic clock,
// statistics, database administration and the per-job cost counters.
import { readFileSync } from "node:fs";
import pg from "pg";

export function envInt(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) throw new Error(`${name} must be an integer, got ${v}`);
  return n;
}

export function envFloat(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number.parseFloat(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
  return n;
}

export function envList(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v.trim() === "") return dflt;
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

// All knobs in one place so that results.json records exactly what ran.
export function loadConfig() {
  return {
    peers: envList("BENCH_PEERS", [
      "graphile-worker",
      "graphile-worker:batched",
      "pg-boss",
      "effect-tasks",
      "effect-tasks:batched",
      "effect-tasks:strict",
    ]),
    reps: envInt("BENCH_REPS", 3),
    scenarios: envList("BENCH_SCENARIOS", ["enqueue", "throughput", "latency", "pgbench"]),
    // Scenario 1: bulk throughput
    n: envInt("BENCH_N", 20000),
    nC1: envInt("BENCH_N_C1", 5000), // C=1 is much slower; fewer jobs keep the run short
    concurrencies: envList("BENCH_CONCURRENCY", ["1", "10", "50"]).map(Number),
    batch: envInt("BENCH_BATCH", 1000), // jobs per bulk-insert call
    drainTimeoutS: envFloat("BENCH_DRAIN_TIMEOUT_S", 120), // a safety limit: a drain that hits it is reported as limited
    // Single-insert enqueue rate
    singleN: envInt("BENCH_SINGLE_N", 1000),
    singleParallel: envInt("BENCH_SINGLE_PARALLEL", 10),
    // Scenario 2: latency
    latRate: envFloat("BENCH_LAT_RATE", 100),
    latSeconds: envFloat("BENCH_LAT_SECONDS", 10),
    latWarmupS: envFloat("BENCH_LAT_WARMUP_S", 1),
    latConcurrency: envInt("BENCH_LAT_C", 10),
    // Scenario 3: transactional enqueue
    txRate: envFloat("BENCH_TX_RATE", 50),
    txSeconds: envFloat("BENCH_TX_SECONDS", 5),
    txRollbackEvery: envInt("BENCH_TX_ROLLBACK_EVERY", 10),
    txGraceMs: envInt("BENCH_TX_GRACE_MS", 3000),
    // Scenario 4: pgbench reference
    pgbenchSeconds: envInt("BENCH_PGBENCH_SECONDS", 15),
    pgbenchClients: envInt("BENCH_PGBENCH_CLIENTS", 10),
    pgbenchJobs: envInt("BENCH_PGBENCH_THREADS", 2),
    pgbenchC1Seconds: envInt("BENCH_PGBENCH_C1_SECONDS", 10), // 0 disables the -c 1 reference runs
    // Profiles' own settings
    pgbossBatchSize: envInt("BENCH_PGBOSS_BATCH_SIZE", 10), // pg-boss: jobs per fetch
    pgbossB1CapS: envFloat("BENCH_PGBOSS_B1_CAP_S", 10), // pg-boss:b1 (poll-bound): drain window in s
    effectTasksClaimBatch: envInt("BENCH_ET_CLAIM_BATCH", 0) || null, // effect-tasks:strict: claimBatchSize (default poolSize)
    // Output: <name>.md and <name>.json in bench/
    reportName: process.env.BENCH_REPORT_NAME || "results",
    rawPrefix: process.env.BENCH_RAW_PREFIX || "raw", // raw files: results/<prefix>-<start time>.json
    // Connection
    pg: {
      host: process.env.BENCH_PGHOST || "127.0.0.1",
      port: envInt("BENCH_PGPORT", 5432),
      user: process.env.BENCH_PGUSER || "postgres",
      password: process.env.BENCH_PGPASSWORD || undefined,
    },
  };
}

export function connectionString(pgc, database) {
  const auth = pgc.password
    ? `${encodeURIComponent(pgc.user)}:${encodeURIComponent(pgc.password)}`
    : encodeURIComponent(pgc.user);
  return `postgres://${auth}@${pgc.host}:${pgc.port}/${database}`;
}

// Monotonic milliseconds (CLOCK_MONOTONIC on Linux): comparable between
// processes on the same machine, which the latency scenario relies on.
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function sleepUntil(tMs) {
  const d = tMs - nowMs();
  if (d > 1) await sleep(d - 0.5);
  while (nowMs() < tMs) {
    // spin for the last fraction of a millisecond; at <=1 kHz this is negligible
  }
}

// ---- statistics ----
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return { n: 0 };
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return {
    n: s.length,
    min: s[0],
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1],
    mean,
  };
}

export function median(values) {
  const s = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- database administration ----
export async function withClient(connStr, fn) {
  const client = new pg.Client({ connectionString: connStr });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function recreateDatabase(pgc, database) {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad database name ${database}`);
  await withClient(connectionString(pgc, "postgres"), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${database}`);
  });
}

// Counters used to compute per-job costs (commits, WAL bytes) of a drain.
export async function dbCounters(client) {
  const { rows } = await client.query(
    `select xact_commit::bigint as commits, xact_rollback::bigint as rollbacks,
            (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint as wal
       from pg_stat_database where datname = current_database()`,
  );
  return { commits: Number(rows[0].commits), rollbacks: Number(rows[0].rollbacks), wal: Number(rows[0].wal) };
}

// Whole-machine CPU time from /proc/stat (jiffies), to report utilisation of both cores.
export function machineCpu() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { idle, total };
  } catch {
    return null;
  }
}

export function cpuUtil(a, b) {
  if (!a || !b) return null;
  const dt = b.total - a.total;
  return dt > 0 ? 1 - (b.idle - a.idle) / dt : null;
}

export function quietLogger(prefix) {
  return {
    error: (...a) => console.error(`[${prefix}]`, ...a),
    warn: (...a) => console.error(`[${prefix}] warn:`, ...a),
  };
}

// Installed version of a dependency of the project (read from the project's node_modules,
// because some packages do not export ./package.json); "effect-tasks" is the project itself.
export function packageJson(name) {
  const root = new URL("../../", import.meta.url);
  const url = name === "effect-tasks" ? new URL("package.json", root) : new URL(`node_modules/${name}/package.json`, root);
  return JSON.parse(readFileSync(url, "utf8"));
}
export function packageVersion(name) {
  return packageJson(name).version;
}

// CPU time (user + system, ms) of one process, from /proc/<pid>/stat; null unless it is a
// PostgreSQL process of this machine (a remote server's pids mean nothing here).
function postgresCpuMs(pid) {
  try {
    if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") return null;
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

// Samples the CPU time of the client backends serving the database of `connStr` (except
// `excludePids`) every `intervalMs` until stop(), which returns the CPU they used since the start
// in ms, or null when the server is not on this machine. Backends that connect meanwhile count
// from their start; one that exits between two samples loses at most one interval. The sampling
// connection is on the `postgres` database, so its own transactions do not count in the measured
// database's commits.
export async function startBackendCpuSampler(connStr, { excludePids = [], intervalMs = 200 } = {}) {
  const url = new URL(connStr);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const first = new Map();
  const last = new Map();
  let local = false;
  const sampleOnce = async (isBaseline) => {
    const { rows } = await client.query(
      "select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend' and not (pid = any($2::int[]))",
      [database, excludePids],
    );
    for (const { pid } of rows) {
      const ms = postgresCpuMs(pid);
      if (ms === null) continue;
      local = true;
      if (!first.has(pid)) first.set(pid, isBaseline ? ms : 0);
      last.set(pid, ms);
    }
  };
  await sampleOnce(true);
  let running = true;
  const loop = (async () => {
    while (running) {
      await sleep(intervalMs);
      if (running) await sampleOnce(false);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sampleOnce(false);
      await client.end();
      if (!local) return null;
      let total = 0;
      for (const [pid, ms] of last) total += ms - first.get(pid);
      return total;
    },
  };
}
