// Where does effect-tasks spend its time per job? One drain of N jobs at concurrency C through the
// bench adapter (adapters/effect-tasks.mjs), in this process, with:
//   - every statement the worker's node-postgres clients send counted and timed (pg.Client.prototype.query
//     wrapped; classified by statement shape), so statements/job and client-side ms/job per kind;
//   - pg_stat_database (commits, rollbacks), WAL bytes, pg_stat_user_tables for the tasks table;
//   - worker-process CPU (process.cpuUsage) and PostgreSQL backend CPU (/proc/<pid>/stat of the
//     backends connected to the database, same machine);
//   - pg_stat_activity sampled every 10 ms (state / wait event of this database's backends).
// Run with --cpu-prof to get a V8 profile of the worker process as well. It measures the build in
// dist/, so build first:
//
//   npm run build
//   node bench/tools/profile-effect-tasks.mjs drain   [N=20000] [C=10] [profile=default]
//   BENCH_PROFILE_HISTORY=1000000 node bench/tools/profile-effect-tasks.mjs drain   the same after 1 M finished tasks
//   node bench/tools/profile-effect-tasks.mjs explain [N=20000] [profile=default]   EXPLAIN ANALYZE of the claim and the finish
//
// Connection settings as for the benchmark (BENCH_PGHOST, ...); database BENCH_PROFILE_DB (bench_et_prof).
import pg from "pg";
import { readFileSync } from "node:fs";
import { connectionString, recreateDatabase, dbCounters, nowMs, sleep, loadConfig } from "../lib/common.mjs";
import * as A from "../adapters/effect-tasks.mjs";

// The result is the only thing on stdout; the library's log lines go to stderr.
const printResult = console.log.bind(console);
console.log = console.error.bind(console);

const [mode = "drain", nArg, cArg, profArg] = process.argv.slice(2);
const pgc = loadConfig().pg;
const DB = process.env.BENCH_PROFILE_DB || "bench_et_prof";
// Finished tasks inserted before the drain's (BENCH_PROFILE_HISTORY, default 0): throughput with a long history.
const HISTORY = Number(process.env.BENCH_PROFILE_HISTORY || 0);
const conn = connectionString(pgc, DB);

// ---- statement accounting (wraps every pg client of this process) ----
function kindOf(text) {
  const t = typeof text === "string" ? text : text?.text ?? "";
  if (/WITH RECURSIVE caps/.test(t)) return "claim";
  if (/WITH finished AS/.test(t)) return "finish";
  if (/AS limited, count\(/.test(t)) return "claim: queue-limits read"; // also matches pg_stat_activity's 40-character prefix
  if (/INSERT INTO .*tasks .*unnest/s.test(t) || /\.enqueue"?\(/.test(t)) return "enqueue insert";
  if (/FROM .*queues WHERE name = ANY/.test(t)) return "enqueue: queue max_size read";
  if (/WITH beat AS/.test(t)) return "heartbeat";
  if (/min\(run_at\) - now\(\)/.test(t)) return "next-due read";
  if (/leases/.test(t)) return "lease (maintenance)";
  if (/^\s*(LISTEN|UNLISTEN)/i.test(t)) return "listen";
  if (/pg_notify/.test(t) && /ping/i.test(t)) return "listener ping";
  return "other: " + t.replace(/\s+/g, " ").trim().slice(0, 70);
}
const stats = new Map();
let capture = false;
const captured = [];
let capturedFinish = null;
const origQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  if (!capture || this.__admin) return origQuery.call(this, config, values, callback);
  const text = typeof config === "string" ? config : config?.text;
  const kind = kindOf(text);
  if (kind === "claim" && captured.length < 50) captured.push({ text, values: typeof values === "function" ? undefined : values });
  if (kind === "finish" && capturedFinish === null) capturedFinish = { text, values: typeof values === "function" ? undefined : values };
  const t0 = nowMs();
  const done = () => {
    const s = stats.get(kind) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += nowMs() - t0;
    stats.set(kind, s);
  };
  const cb = typeof values === "function" ? values : callback;
  if (typeof cb === "function") {
    const wrapped = (err, res) => {
      done();
      cb(err, res);
    };
    return typeof values === "function" ? origQuery.call(this, config, wrapped) : origQuery.call(this, config, values, wrapped);
  }
  const p = origQuery.call(this, config, values, callback);
  if (p && typeof p.then === "function") p.then(done, done);
  return p;
};

async function admin() {
  const c = new pg.Client({ connectionString: conn });
  c.__admin = true;
  await c.connect();
  return c;
}

function procCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

async function enqueue(n) {
  const prod = await A.producer({ connectionString: conn });
  for (let i = 0; i < n; i += 1000) await prod.addMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ seq: i + k })));
  await prod.close();
}

// A fresh database with the schema, HISTORY finished tasks and N tasks waiting, analysed; returns
// an admin client on it.
async function prepare(N, profile) {
  await recreateDatabase(pgc, DB);
  await A.install({ connectionString: conn, profile });
  const a = await admin();
  if (HISTORY > 0) {
    // Finished history, as a long-running system keeps it: the drain must not slow down for it.
    await a.query(
      `INSERT INTO effect_tasks.tasks (key, status, args, attempt, max_attempts, run_at, started_at, finished_at, created_at, updated_at)
       SELECT 'bench_noop', 'succeeded', '{"seq": -1}'::jsonb, 1, 1, t, t, t, t, t
       FROM generate_series(1, $1::int) AS g, LATERAL (SELECT now() - interval '1 day' + g * interval '1 millisecond') AS at(t)`,
      [HISTORY],
    );
  }
  await enqueue(N);
  await a.query("VACUUM ANALYZE");
  return a;
}

async function drain(N, C, profile) {
  const a = await prepare(N, profile);
  const tableStats = async () =>
    (
      await a.query(
        `select n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, idx_scan, n_dead_tup
           from pg_stat_user_tables where relid = 'effect_tasks.tasks'::regclass`,
      )
    ).rows[0];
  const counts = new Uint16Array(N);
  let handled = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  const onJob = (p) => {
    counts[p.seq]++;
    if (++handled === N) resolveAll();
  };
  // activity sampler on its own connection
  // on another database: its own commits must not count in this database's pg_stat_database
  const sampler = new pg.Client({ connectionString: connectionString(pgc, "postgres") });
  sampler.__admin = true;
  await sampler.connect();
  const activity = new Map();
  let samples = 0;
  let sampling = true;
  const backendPids = new Set();
  const sample = (async () => {
    while (sampling) {
      const { rows } = await sampler.query(
        `select pid, state, coalesce(wait_event_type || ':' || wait_event, 'CPU') as w, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) as q
           from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        [DB],
      );
      samples++;
      for (const r of rows) {
        backendPids.add(r.pid);
        if (r.state === "idle") continue;
        const key = `${r.state} | ${r.w} | ${kindOf(r.q + " ")}`;
        activity.set(key, (activity.get(key) ?? 0) + 1);
      }
      await sleep(10);
    }
  })();
  const indexSizes = async () =>
    Object.fromEntries(
      (
        await a.query(
          `select indexrelid::regclass::text as name, pg_relation_size(indexrelid) as bytes
             from pg_index where indrelid = 'effect_tasks.tasks'::regclass
           union all select 'heap', pg_relation_size('effect_tasks.tasks')`,
        )
      ).rows.map((r) => [r.name.replace("effect_tasks.", ""), Number(r.bytes)]),
    );
  const sizes0 = await indexSizes();
  await sleep(50);
  await stats.clear();
  const before = await dbCounters(a);
  const t0 = await tableStats();
  capture = true;
  const cpu0 = process.cpuUsage();
  const tStart = nowMs();
  const w = await A.worker({ connectionString: conn, profile, concurrency: C, onJob });
  const tReady = nowMs();
  // backend pids of the worker's connections (pool grows lazily; read them again at the end)
  await all;
  const tHandled = nowMs();
  while ((await A.pendingCount(a)) > 0) await sleep(5);
  const tDone = nowMs();
  const cpu1 = process.cpuUsage(cpu0);
  // backend CPU: the pool's backends are still connected before stop
  const pidsNow = (await a.query(`select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [DB])).rows.map((r) => r.pid);
  const be1 = pidsNow.map((pid) => [pid, procCpuMs(pid)]);
  capture = false;
  await w.stop();
  sampling = false;
  await sample;
  await sleep(300);
  const after = await dbCounters(a);
  const t1 = await tableStats();
  const sizes1 = await indexSizes();
  const state = await A.dbState(a);
  let dupes = 0,
    missing = 0;
  for (let i = 0; i < N; i++) {
    if (counts[i] === 0) missing++;
    else if (counts[i] > 1) dupes += counts[i] - 1;
  }
  const elapsed = (tDone - tStart) / 1000;
  const out = {
    N,
    C,
    profile,
    history_rows: HISTORY,
    jobs_per_s: N / elapsed,
    elapsed_s: elapsed,
    startup_ms: tReady - tStart,
    handled_to_db_done_ms: tDone - tHandled,
    duplicates: dupes,
    missing,
    db_state: state,
    commits_per_job: (after.commits - before.commits) / N,
    rollbacks: after.rollbacks - before.rollbacks,
    wal_bytes_per_job: (after.wal - before.wal) / N,
    worker_cpu_us_per_job: ((cpu1.user + cpu1.system) / N),
    worker_cpu_user_us_per_job: cpu1.user / N,
    worker_cpu_sys_us_per_job: cpu1.system / N,
    // cumulative CPU of the backends since they connected (they connected at worker start)
    backend_cpu_us_per_job_upper: (be1.reduce((s, [, ms]) => s + ms, 0) * 1000) / N,
    backends: be1.length,
    table: Object.fromEntries(Object.keys(t1).map((k) => [k, Number(t1[k]) - Number(t0[k])])),
    relation_growth_bytes_per_job: Object.fromEntries(
      Object.keys(sizes1).map((k) => [k, +((sizes1[k] - (sizes0[k] ?? 0)) / N).toFixed(1)]).filter(([, v]) => v !== 0),
    ),
    statements: Object.fromEntries(
      [...stats.entries()]
        .sort((x, y) => y[1].n - x[1].n)
        .map(([k, s]) => [k, { n: s.n, per_job: +(s.n / N).toFixed(3), avg_ms: +(s.ms / s.n).toFixed(3), total_ms: Math.round(s.ms) }]),
    ),
    statements_per_job: [...stats.values()].reduce((s, x) => s + x.n, 0) / N,
    activity_samples: samples,
    activity: Object.fromEntries([...activity.entries()].sort((x, y) => y[1] - x[1]).slice(0, 15).map(([k, v]) => [k, +(v / samples).toFixed(3)])),
  };
  await a.end();
  await sampler.end();
  return out;
}

// EXPLAIN ANALYZE of the claim and finish statements the worker sends, with N tasks waiting. The
// statements are captured from a real worker (which claims a first batch and some single claims),
// then explained inside a transaction that is rolled back.
async function explain(N, profile) {
  const a = await prepare(N, profile);
  let handled = 0;
  capture = true;
  const w = await A.worker({ connectionString: conn, profile, concurrency: 10, onJob: () => handled++ });
  while (handled < 300) await sleep(5);
  capture = false;
  await w.stop();
  await a.query("VACUUM ANALYZE");
  const waiting = (await a.query(`select count(*)::int n from effect_tasks.tasks where status = 'initialized'`)).rows[0].n;
  const first = captured[0];
  const later = captured[captured.length - 1];
  const out = { N, profile, waiting, captured: captured.length };
  for (const [name, c] of [
    ["first claim", first],
    ["last captured claim", later],
    // Its task has finished since, so it updates no row: its planning time is what a finish costs,
    // its execution time is not.
    ["first finish (replayed, 0 rows)", capturedFinish],
  ]) {
    const limitParam = c.values?.find((v) => typeof v === "number");
    const runs = [];
    for (let i = 0; i < 5; i++) {
      await a.query("BEGIN");
      const { rows } = await a.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${c.text}`, c.values);
      await a.query("ROLLBACK");
      const plan = rows[0]["QUERY PLAN"][0];
      runs.push({ exec_ms: plan["Execution Time"], plan_ms: plan["Planning Time"], plan });
    }
    runs.sort((x, y) => x.exec_ms - y.exec_ms);
    const med = runs[2];
    await a.query("BEGIN");
    const text = (await a.query(`EXPLAIN (ANALYZE, BUFFERS) ${c.text}`, c.values)).rows.map((r) => r["QUERY PLAN"]).join("\n");
    await a.query("ROLLBACK");
    out[name] = { first_number_param: limitParam, exec_ms_runs: runs.map((r) => +r.exec_ms.toFixed(2)), plan_ms_runs: runs.map((r) => +r.plan_ms.toFixed(2)), plan_ms_median: +med.plan_ms.toFixed(2), exec_ms_median: +med.exec_ms.toFixed(2), text_plan: text };
  }
  await a.end();
  return out;
}

const r =
  mode === "explain"
    ? await explain(Number(nArg || 20000), cArg || "default")
    : await drain(Number(nArg || 20000), Number(cArg || 10), profArg || "default");
printResult(JSON.stringify(r, null, 1));
process.exit(0);
