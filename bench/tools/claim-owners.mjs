// What one claim costs when many (queue, owner) groups wait, under the fair policy and under
// strict priority: OWNERS groups of PER_OWNER runnable tasks each, then CLAIMS claims of LIMIT
// tasks through the library's own claim (the internal store's claim, as a worker makes it), each timed from
// the client. Measures the build in dist/, so build first:
//
//   npm run build
//   node bench/tools/claim-owners.mjs [OWNERS=10000] [PER_OWNER=2] [CLAIMS=30] [LIMIT=10]
//
// Connection settings as for the benchmark (BENCH_PGHOST, ...); database BENCH_PROFILE_DB (bench_et_prof),
// dropped and recreated.
import { PgClient } from "@effect/sql-pg";
import { Duration, Effect, ManagedRuntime, Redacted } from "effect";
import { SchedulingPolicy } from "effect-tasks";
// The worker's claim is internal to the library: taken from the build directly.
import { makeStore } from "../../dist/internal/store/store.js";
import pg from "pg";
import { connectionString, loadConfig, nowMs, recreateDatabase } from "../lib/common.mjs";

const [owners = 10000, perOwner = 2, claims = 30, limit = 10] = process.argv.slice(2).map(Number);
const pgc = loadConfig().pg;
const DB = process.env.BENCH_PROFILE_DB || "bench_et_prof";
const conn = connectionString(pgc, DB);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(policyName, policy) {
  await recreateDatabase(pgc, DB);
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(conn), maxConnections: 2 }));
  try {
    const store = await runtime.runPromise(makeStore());
    await runtime.runPromise(store.migrate);
    const admin = new pg.Client({ connectionString: conn });
    await admin.connect();
    await admin.query(
      `INSERT INTO effect_tasks.tasks (key, owner, args, max_attempts, run_at)
       SELECT 'bench_noop', 'owner-' || (g % $1::int), '{}'::jsonb, 1, now() - interval '1 minute'
       FROM generate_series(0, $1::int * $2::int - 1) AS g`,
      [owners, perOwner],
    );
    // Some history for the fair policy's recent starts.
    await admin.query(
      `INSERT INTO effect_tasks.tasks (key, owner, status, args, attempt, max_attempts, started_at, finished_at)
       SELECT 'bench_noop', 'owner-' || (g % $1::int), 'succeeded', '{}'::jsonb, 1, 1, now() - g * interval '1 millisecond', now()
       FROM generate_series(1, 5000) AS g`,
      [owners],
    );
    await admin.query("VACUUM ANALYZE effect_tasks.tasks");
    await admin.end();
    const request = {
      keys: ["bench_noop"],
      timeouts: [Duration.minutes(1)],
      deadlineGrace: Duration.seconds(10),
      limit,
      nodeId: "claim-owners",
      leaseDuration: Duration.minutes(1),
      policy,
    };
    const times = [];
    for (let i = 0; i < claims; i++) {
      const t0 = nowMs();
      const claimed = await runtime.runPromise(store.claim(request));
      times.push(nowMs() - t0);
      if (claimed.length !== limit) throw new Error(`claimed ${claimed.length}, expected ${limit}`);
    }
    return { policy: policyName, owners, perOwner, limit, claims, medianMs: median(times.slice(3)), maxMs: Math.max(...times.slice(3)) };
  } finally {
    await runtime.dispose();
  }
}

const results = [];
results.push(await measure("fair", SchedulingPolicy.fair()));
results.push(await measure("strictPriority", SchedulingPolicy.strictPriority));
console.log(JSON.stringify(results, null, 1));
