// Template for adding a queue library to the comparison.
// Copy to adapters/<name>.mjs, fill in, then run with
//   BENCH_PEERS=graphile-worker,pg-boss,<name> npm run bench
// A peer spec is "<adapter>" or "<adapter>:<profile>" (profile defaults to "default").
//
// Import the library by package name (a devDependency of the project), never by
// an absolute path of this machine.
//
// Contract (all functions async unless noted; payloads are small JSON objects
// like { seq: 123 } that must reach the handler unchanged):

export const packageName = "my-queue";
export const version = "0.0.0"; // report the real version
export const database = "bench_mine"; // dropped and recreated before every measurement

// profile name -> (C) => settings object (recorded in results.json). C is the
// most handlers allowed to run at once in the worker process.
export const profiles = {
  default: (C) => ({ concurrency: C }),
};
// profile name -> one line for the results table
export const notes = { default: "describe every non-default setting here" };
// one line for the transactional-enqueue table: how addInTx enqueues on the caller's client
export const inTransaction = "describe the call here";
// optional: profile name -> seconds; throughput runs of that profile stop after
// this window and report completed/window instead of waiting for all N jobs.
export const drainCapS = {};

// Create schema / run migrations. Not timed.
export async function install({ connectionString, profile }) {
  throw new Error("not implemented");
}

// A producer as an application process would hold one.
//   addOne(payload)          enqueue one job (own transaction), resolve after commit
//   addMany(payloads)        the library's batch-insert API, one call
//   addInTx(client, payload) enqueue on the caller's node-postgres client inside its open transaction
export async function producer({ connectionString, profile }) {
  return {
    addOne: async (payload) => {},
    addMany: async (payloads) => {},
    addInTx: async (client, payload) => {},
    close: async () => {},
  };
}

// Start a worker that calls onJob(payload) synchronously at the start of each
// job's handler and then completes the job. Resolve once it is running.
export async function worker({ connectionString, profile, concurrency, onJob }) {
  const settings = profiles[profile](concurrency);
  return {
    settings,
    stop: async () => {}, // graceful: finish or release in-flight jobs, close connections
  };
}

// DB truth after a drain. `remaining` = jobs not completed (pending, running or failed).
export async function dbState(client) {
  return { remaining: 0, failed: 0 };
}
// Jobs not yet completed in the DB (polled at the end of a drain to stop the clock).
export async function pendingCount(client) {
  return 0;
}
// Jobs completed so far, given how many were enqueued.
export async function completedCount(client, enqueued) {
  return enqueued - (await pendingCount(client));
}
