// One measurement step, run in its own Node process (forked by bench.mjs with an
// IPC channel). argv[2] is JSON: { adapter, profile, role, params, connectionString }.
// Roles: enqueue | throughput | serve | produce-latency | produce-tx.
import pg from "pg";
import { nowMs, sleep, sleepUntil, dbCounters, machineCpu, cpuUtil, startBackendCpuSampler } from "./lib/common.mjs";

const job = JSON.parse(process.argv[2]);
const A = await import(`./adapters/${job.adapter}.mjs`);
const { connectionString, profile, params } = job;

function send(msg) {
  return new Promise((resolve) => process.send(msg, () => resolve()));
}

async function withAdmin(fn) {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- enqueue
// Single-insert enqueue rate: one at a time, then P in flight.
async function roleEnqueue() {
  await A.install({ connectionString, profile });
  const prod = await A.producer({ connectionString, profile });
  let seq = 0;
  for (let i = 0; i < 20; i++) await prod.addOne({ seq: seq++, warm: true }); // warm-up, not timed
  const t0 = nowMs();
  for (let i = 0; i < params.singleN; i++) await prod.addOne({ seq: seq++ });
  const t1 = nowMs();
  const lane = async (k) => {
    while (k.n < params.singleN) {
      k.n++;
      await prod.addOne({ seq: seq++ });
    }
  };
  const k = { n: 0 };
  const t2 = nowMs();
  await Promise.all(Array.from({ length: params.singleParallel }, () => lane(k)));
  const t3 = nowMs();
  await prod.close();
  return {
    single_seq_per_s: params.singleN / ((t1 - t0) / 1000),
    single_seq_ms_each: (t1 - t0) / params.singleN,
    single_par_per_s: params.singleN / ((t3 - t2) / 1000),
    single_parallel: params.singleParallel,
  };
}

// ---------------------------------------------------------------- throughput
async function roleThroughput() {
  const { C, n, batch, timeoutS, capS } = params;
  await A.install({ connectionString, profile });
  const prod = await A.producer({ connectionString, profile });
  const payloads = Array.from({ length: n }, (_, i) => ({ seq: i }));
  const e0 = nowMs();
  for (let i = 0; i < n; i += batch) await prod.addMany(payloads.slice(i, i + batch));
  const e1 = nowMs();
  await prod.close();

  return withAdmin(async (admin) => {
    const pendingBefore = await A.pendingCount(admin);
    await admin.query("VACUUM ANALYZE"); // same treatment for every peer: fresh stats on the job table
    global.gc?.();

    const counts = new Uint16Array(n);
    let handled = 0;
    let firstAt = null;
    let allHandledAt = null;
    let resolveAll;
    const allHandled = new Promise((r) => (resolveAll = r));
    const onJob = (p) => {
      const t = nowMs();
      if (firstAt === null) firstAt = t;
      counts[p.seq]++;
      handled++;
      if (handled === n) {
        allHandledAt = t;
        resolveAll();
      }
    };

    const adminPid = (await admin.query("select pg_backend_pid() as pid")).rows[0].pid;
    const backends = await startBackendCpuSampler(connectionString, { excludePids: [adminPid] });
    const before = await dbCounters(admin);
    const cpu0 = process.cpuUsage();
    const m0 = machineCpu();
    const tStart = nowMs();
    const w = await A.worker({ connectionString, profile, concurrency: C, onJob });
    const tReady = nowMs();
    const limitS = capS ?? timeoutS;
    const deadline = tStart + limitS * 1000;

    await Promise.race([allHandled, sleep(deadline - nowMs())]);
    let tDone = null;
    // All handlers ran; now wait until the completions are committed in the DB.
    if (allHandledAt !== null) {
      while (nowMs() < deadline) {
        if ((await A.pendingCount(admin)) === 0) {
          tDone = nowMs();
          break;
        }
        await sleep(5);
      }
    }
    let completedAtEnd;
    let limited = false;
    if (tDone === null) {
      // capped (poll-bound profile) or timed out: rate over the time window
      limited = true;
      if (nowMs() < deadline) await sleep(deadline - nowMs());
      completedAtEnd = await A.completedCount(admin, n);
      tDone = nowMs();
    } else {
      completedAtEnd = n;
    }
    const m1 = machineCpu();
    const cpu1 = process.cpuUsage(cpu0);
    const backendCpuMs = await backends.stop();
    const s0 = nowMs();
    await w.stop();
    const stopMs = nowMs() - s0;
    await sleep(200); // backends exit and flush their stats
    const after = await dbCounters(admin);
    const state = await A.dbState(admin);

    let dupes = 0;
    let missing = 0;
    let executed = 0;
    for (let i = 0; i < n; i++) {
      if (counts[i] === 0) missing++;
      else {
        executed++;
        if (counts[i] > 1) dupes += counts[i] - 1;
      }
    }
    const elapsedS = (tDone - tStart) / 1000;
    return {
      C,
      n,
      settings: w.settings,
      bulk_enqueue_per_s: n / ((e1 - e0) / 1000),
      pending_before: pendingBefore,
      startup_ms: tReady - tStart,
      first_job_ms: firstAt === null ? null : firstAt - tStart,
      elapsed_s: elapsedS,
      jobs_per_s: completedAtEnd / elapsedS,
      jobs_per_s_after_first: firstAt === null ? null : completedAtEnd / ((tDone - firstAt) / 1000),
      limited,
      limit_reason: limited ? (capS ? `capped at ${capS}s (poll-bound profile)` : `timeout ${timeoutS}s`) : null,
      completed_in_db: completedAtEnd,
      handler_executions: handled,
      executed_distinct: executed,
      duplicates: dupes,
      missing: limited ? null : missing,
      db_state_after_stop: state,
      stop_ms: stopMs,
      commits_per_job: (after.commits - before.commits) / Math.max(1, completedAtEnd),
      wal_bytes_per_job: (after.wal - before.wal) / Math.max(1, completedAtEnd),
      worker_cpu_us_per_job: (cpu1.user + cpu1.system) / Math.max(1, completedAtEnd),
      backend_cpu_us_per_job: backendCpuMs === null ? null : (backendCpuMs * 1000) / Math.max(1, completedAtEnd),
      machine_cpu_util: cpuUtil(m0, m1),
    };
  });
}

// ---------------------------------------------------------------- serve (latency / tx worker)
async function roleServe() {
  await A.install({ connectionString, profile });
  const starts = new Map();
  let dupes = 0;
  const onJob = (p) => {
    const t = nowMs();
    if (starts.has(p.seq)) dupes++;
    else starts.set(p.seq, t);
  };
  const w = await A.worker({ connectionString, profile, concurrency: params.C, onJob });
  process.on("message", async (msg) => {
    if (msg.type === "waitCount") {
      const until = nowMs() + msg.timeoutMs;
      while (starts.size < msg.n && nowMs() < until) await sleep(5);
      await send({ type: "count", seen: starts.size });
    } else if (msg.type === "stop") {
      await w.stop();
      const state = await withAdmin((c) => A.dbState(c));
      await send({ type: "result", result: { starts: [...starts.entries()], dupes, settings: w.settings, db_state_after_stop: state } });
      process.exit(0);
    }
  });
  await send({ type: "ready" });
  return undefined; // stays alive until "stop"
}

// ---------------------------------------------------------------- producers
// Calls step(i, seq) `total` times at `rate` per second; records [seq, call start, call end, flag]
// for each call, flag = 1 when step returns true.
async function paced({ rate, total, seqBase }, step) {
  const interval = 1000 / rate;
  const records = [];
  const t0 = nowMs() + 50;
  for (let i = 0; i < total; i++) {
    await sleepUntil(t0 + i * interval);
    const seq = seqBase + i;
    const tCall = nowMs();
    const flag = await step(i, seq);
    records.push([seq, tCall, nowMs(), flag ? 1 : 0]);
  }
  return records;
}

async function roleProduceLatency() {
  const { rate, seconds, warmupS, seqBase } = params;
  const prod = await A.producer({ connectionString, profile });
  const warmN = Math.round(rate * warmupS);
  const records = await paced({ rate, total: Math.round(rate * (warmupS + seconds)), seqBase }, async (i, seq) => {
    await prod.addOne({ seq });
    return i < warmN;
  });
  await prod.close();
  return { records };
}

async function roleProduceTx() {
  const { rate, seconds, rollbackEvery, seqBase } = params;
  const prod = await A.producer({ connectionString, profile });
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query("create table if not exists bench_user_rows (seq int primary key, note text not null)");
  const records = await paced({ rate, total: Math.round(rate * seconds), seqBase }, async (i, seq) => {
    const rollback = rollbackEvery > 0 && i % rollbackEvery === rollbackEvery - 1;
    await client.query("BEGIN");
    await client.query("insert into bench_user_rows (seq, note) values ($1, $2)", [seq, rollback ? "rolled back" : "committed"]);
    await prod.addInTx(client, { seq });
    await client.query(rollback ? "ROLLBACK" : "COMMIT");
    return rollback;
  });
  await client.end();
  await prod.close();
  return { records };
}

const roles = {
  enqueue: roleEnqueue,
  throughput: roleThroughput,
  serve: roleServe,
  "produce-latency": roleProduceLatency,
  "produce-tx": roleProduceTx,
};

try {
  const result = await roles[job.role]();
  if (result !== undefined) {
    await send({ type: "result", result });
    process.exit(0);
  }
} catch (err) {
  await send({ type: "error", error: String(err?.stack ?? err) });
  process.exit(1);
}
