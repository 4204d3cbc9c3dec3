// Adapter for pg-boss (https://pgboss.io), used through its public API:
// start(), createQueue(), send()/insert(), work(), and the documented `db`
// option ({ executeSql }) for enqueueing inside the caller's transaction.
import { loadConfig, packageVersion } from "../lib/common.mjs";
import { PgBoss } from "pg-boss";

export const version = packageVersion("pg-boss");
export const packageName = "pg-boss";
export const database = "bench_boss";
const QUEUE = "bench_noop";
const { pgbossBatchSize: BATCH, pgbossB1CapS } = loadConfig();

// Settings per profile and concurrency C. Everything not listed is the library default.
// In both profiles at most C handlers run at once (C workers, each handles its
// batch sequentially), which is what "concurrency C" means for every peer here.
export const profiles = {
  // Throughput-oriented idiom: each of C workers fetches a batch and keeps
  // fetching without delay while batches come back full; LISTEN/NOTIFY for wakeups.
  default: (C) => ({
    constructor: { max: Math.max(10, C + 2), useListenNotify: true },
    queue: { notify: true },
    work: { localConcurrency: C, batchSize: BATCH, burstWhenBatchFull: true },
  }),
  // README idiom: one job per fetch (batchSize 1). burstWhenBatchFull does not apply
  // at batchSize 1, so every worker waits one polling interval after each job;
  // the interval is set to the minimum the library allows (0.5 s).
  b1: (C) => ({
    constructor: { max: Math.max(10, C + 2), useListenNotify: true },
    queue: { notify: true },
    work: { localConcurrency: C, batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
  }),
};

export const inTransaction =
  "`send(q, data, { db: { executeSql: (text, values) => client.query(text, values) } })` (the documented `db` option); the NOTIFY is part of the same statement";

export const notes = {
  default: `new PgBoss({max: max(10, C+2), useListenNotify: true}); createQueue(q, {notify: true}); work(q, {localConcurrency: C, batchSize: ${BATCH}, burstWhenBatchFull: true}); batch handled sequentially`,
  b1: "as default but work(q, {localConcurrency: C, batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5}) — poll-bound by design",
};

// Throughput runs of a poll-bound profile are capped instead of waiting for all N jobs.
export const drainCapS = { b1: pgbossB1CapS };

function onError(err) {
  console.error(`[pg-boss error] ${err?.message ?? err}`);
}
function onWarning(w) {
  // queue_backlog warnings are expected: the bulk scenario queues 20k jobs on purpose.
  if (w?.data?.type === "queue_backlog") return;
  console.error(`[pg-boss warning] ${w?.message ?? JSON.stringify(w)}`);
}

async function startBoss(options) {
  const boss = new PgBoss(options);
  boss.on("error", onError);
  boss.on("warning", onWarning);
  await boss.start();
  return boss;
}

export async function install({ connectionString, profile }) {
  const s = profiles[profile](1);
  const boss = await startBoss({ connectionString, supervise: false, schedule: false });
  await boss.createQueue(QUEUE, s.queue);
  await boss.stop({ graceful: false });
}

// A producer-only instance (as an API process would have): no maintenance or
// cron duties, those belong to the worker instance.
export async function producer({ connectionString }) {
  const boss = await startBoss({ connectionString, supervise: false, schedule: false });
  return {
    addOne: (payload) => boss.send(QUEUE, payload),
    addMany: (payloads) => boss.insert(QUEUE, payloads.map((data) => ({ data }))),
    // Documented `db` option: pg-boss runs its SQL through the caller's client,
    // so the job row and the NOTIFY commit or roll back with the caller's transaction.
    addInTx: (client, payload) =>
      boss.send(QUEUE, payload, { db: { executeSql: (text, values) => client.query(text, values) } }),
    close: () => boss.stop({ graceful: false }),
  };
}

export async function worker({ connectionString, profile, concurrency, onJob }) {
  const settings = profiles[profile](concurrency);
  const boss = await startBoss({ connectionString, ...settings.constructor });
  await boss.work(QUEUE, settings.work, async (jobs) => {
    for (const job of jobs) onJob(job.data);
  });
  return {
    settings,
    stop: () => boss.stop({ graceful: true, timeout: 30000 }),
  };
}

export async function dbState(client) {
  const { rows } = await client.query(
    `select count(*)::int as total,
            count(*) filter (where state = 'completed')::int as completed,
            count(*) filter (where state = 'failed')::int as failed,
            count(*) filter (where state in ('created','retry','active'))::int as remaining
       from pgboss.job where name = $1`,
    [QUEUE],
  );
  const r = rows[0];
  return { remaining: r.remaining, failed: r.failed, completed: r.completed, total: r.total };
}

export async function pendingCount(client) {
  const { rows } = await client.query(
    `select count(*)::int as n from pgboss.job where name = $1 and state <> 'completed'`,
    [QUEUE],
  );
  return rows[0].n;
}

export async function completedCount(client) {
  const { rows } = await client.query(
    `select count(*)::int as n from pgboss.job where name = $1 and state = 'completed'`,
    [QUEUE],
  );
  return rows[0].n;
}
