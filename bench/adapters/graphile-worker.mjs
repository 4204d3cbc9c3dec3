// Adapter for graphile-worker (https://worker.graphile.org), used through its
// public library API: run() with a taskList, makeWorkerUtils().addJob/addJobs,
// and the SQL function graphile_worker.add_job() for transactional enqueue.
import { packageVersion } from "../lib/common.mjs";
import { run, makeWorkerUtils, runMigrations, Logger } from "graphile-worker";

export const version = packageVersion("graphile-worker");
export const packageName = "graphile-worker";
export const database = "bench_gw";
const TASK = "bench_noop";

// Only warnings and errors; info lines ("Worker connected...") would flood the log.
const logger = new Logger((scope) => (level, message) => {
  if (level === "error" || level === "warning") console.error(`[graphile-worker ${level}] ${message}`);
});

// Settings per profile and concurrency C. Everything not listed is the library default.
export const profiles = {
  // Defaults, plus the pool size the docs recommend ("10 or concurrentJobs + 2,
  // whichever is larger"); the library warns when maxPoolSize < concurrency.
  default: (C) => ({
    concurrentJobs: C,
    maxPoolSize: Math.max(10, C + 2),
  }),
  // The docs' recommended starting point for high-throughput queues
  // (website/docs/performance.md "Batching"): local queue of concurrency + 1,
  // completion/failure batching every 250 ms.
  batched: (C) => ({
    concurrentJobs: C,
    maxPoolSize: Math.max(10, C + 2),
    localQueue: { size: C + 1 },
    completeJobBatchDelay: 250,
    failJobBatchDelay: 250,
  }),
};

export const inTransaction =
  "`select graphile_worker.add_job($1, $2::json)` on the caller's client (the documented SQL API; it also issues the NOTIFY)";

export const notes = {
  default: "run({concurrency: C, maxPoolSize: max(10, C+2)}); LISTEN/NOTIFY wakeups (built in); pollInterval 2000 ms (default)",
  batched: "as default + localQueue {size: C+1}, completeJobBatchDelay 250, failJobBatchDelay 250 (docs' batching starting point)",
};

function preset(settings) {
  const { concurrentJobs, maxPoolSize, ...rest } = settings;
  return { worker: { ...rest } };
}

export async function install({ connectionString }) {
  await runMigrations({ connectionString, logger });
}

export async function producer({ connectionString }) {
  const utils = await makeWorkerUtils({ connectionString, logger });
  return {
    addOne: (payload) => utils.addJob(TASK, payload),
    addMany: (payloads) => utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload }))),
    // Same client, same transaction as the caller's own writes.
    addInTx: (client, payload) =>
      client.query("select graphile_worker.add_job($1, $2::json)", [TASK, JSON.stringify(payload)]),
    close: () => utils.release(),
  };
}

export async function worker({ connectionString, profile, concurrency, onJob }) {
  const settings = profiles[profile](concurrency);
  const runner = await run({
    connectionString,
    concurrency: settings.concurrentJobs,
    maxPoolSize: settings.maxPoolSize,
    noHandleSignals: true,
    logger,
    preset: preset(settings),
    taskList: {
      [TASK]: async (payload) => {
        onJob(payload);
      },
    },
  });
  return {
    settings,
    stop: async () => {
      await runner.stop();
      await runner.promise.catch(() => {});
    },
  };
}

// Completed jobs are deleted by graphile-worker, so anything left is pending or failed.
export async function dbState(client) {
  const { rows } = await client.query(
    `select count(*)::int as remaining,
            count(*) filter (where attempts >= max_attempts)::int as failed,
            count(*) filter (where last_error is not null)::int as errored
       from graphile_worker._private_jobs`,
  );
  return { remaining: rows[0].remaining, failed: rows[0].failed, errored: rows[0].errored };
}

export async function pendingCount(client) {
  const { rows } = await client.query(`select count(*)::int as n from graphile_worker._private_jobs`);
  return rows[0].n;
}

// Completed count, given how many were enqueued.
export async function completedCount(client, enqueued) {
  return enqueued - (await pendingCount(client));
}
