// Throughput with the cleaner at work: a drain of JOBS no-op tasks (one worker, poolSize 10) on an
// empty table, and on one holding FINISHED succeeded tasks finished two days ago and expired a day
// ago (the default keepSucceeded) that the maintenance leader's cleaner deletes meanwhile
// (checkInterval 1 s). Prints both rates and how many old rows were left when each drain ended. Measures the build
// in dist/:
//
//   npm run build
//   node bench/tools/cleaner-churn.mjs [FINISHED=1000000] [JOBS=20000]
//
// Connection settings as for the benchmark (BENCH_PGHOST, ...); database BENCH_CLEAN_DB
// (bench_et_clean), dropped and recreated for each run.
import { PgClient } from "@effect/sql-pg";
import { Deferred, Effect, Layer, ManagedRuntime, Redacted, Ref, Schema } from "effect";
import { Task, TaskManager, Tasks, TaskStore } from "effect-tasks";
import pg from "pg";
import { connectionString, loadConfig, nowMs, recreateDatabase } from "../lib/common.mjs";

const [finished = 1_000_000, jobs = 20_000] = process.argv.slice(2).map(Number);
const pgc = loadConfig().pg;
const DB = process.env.BENCH_CLEAN_DB || "bench_et_clean";
const conn = connectionString(pgc, DB);
const Job = Task.make("churn", { args: Schema.Struct({ n: Schema.Number }) });

async function drain(oldRows) {
  await recreateDatabase(pgc, DB);
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(conn), maxConnections: 14 }));
  const db = new pg.Client({ connectionString: conn });
  await db.connect();
  try {
    await runtime.runPromise(Effect.flatMap(TaskStore.make(), (store) => store.migrate));
    if (oldRows > 0) {
      await db.query(
        `INSERT INTO effect_tasks.tasks (key, status, args, attempt, max_attempts, created_at, started_at, finished_at, run_at, expires_at)
         SELECT 'churn', 'succeeded', jsonb_build_object('n', g), 1, 1, ts, ts, ts, ts, ts + interval '1 day'
         FROM generate_series(1, $1::int) AS g, LATERAL (SELECT now() - interval '2 days' + g * interval '1 millisecond' AS ts) AS t`,
        [oldRows],
      );
    }
    for (let i = 0; i < jobs; i += 1000) {
      await runtime.runPromise(Tasks.runMany(Job, Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ n: i + k }))));
    }
    await db.query("VACUUM ANALYZE effect_tasks.tasks");
    const t0 = nowMs();
    const left = await runtime.runPromise(Effect.scoped(Effect.gen(function* () {
      const done = yield* Deferred.make();
      const count = yield* Ref.make(0);
      const handler = Job.handler(() => Effect.flatMap(Ref.updateAndGet(count, (n) => n + 1), (n) => n === jobs ? Deferred.succeed(done, undefined) : Effect.void));
      yield* Layer.build(handler.pipe(Layer.provideMerge(TaskManager.layer({ poolSize: 10, checkInterval: "1 second" }))));
      yield* Deferred.await(done);
      const counted = yield* Effect.promise(() =>
        db.query("SELECT count(*)::int AS n FROM effect_tasks.tasks WHERE expires_at < now()")
      );
      return counted.rows[0].n;
    })));
    const seconds = (nowMs() - t0) / 1000;
    return { oldRows, jobs, jobsPerSecond: Math.round(jobs / seconds), oldRowsLeftAtEnd: left };
  } finally {
    await db.end();
    await runtime.dispose();
  }
}

const results = [];
for (const oldRows of [0, finished, 0, finished]) results.push(await drain(oldRows));
console.log(JSON.stringify(results, null, 1));
