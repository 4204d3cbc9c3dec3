// What TaskAdmin.list, count and stats cost on a large table: ROWS finished tasks (99 % succeeded,
// 1 % failed, 0.1 % canceled; 50 keys, 10,000 owners, a unique key on every 100th, trees of 10)
// plus 1,000 waiting ones, then each call of the table below timed from the client (median of
// RUNS), and the plan of the statement it sends (the same WHERE, ORDER BY and LIMIT, written out
// here) printed with EXPLAIN ANALYZE. Measures the build in dist/:
//
//   npm run build
//   node bench/tools/find-plans.mjs [ROWS=10000000] [RUNS=7]
//
// Connection settings as for the benchmark (BENCH_PGHOST, ...); database BENCH_FIND_DB
// (bench_et_find), dropped and recreated unless KEEP_DB=1 and it holds ROWS rows already.
import { PgClient } from "@effect/sql-pg";
import { Effect, ManagedRuntime, Redacted } from "effect";
import { TaskAdmin, TaskStore } from "effect-tasks";
import pg from "pg";
import { connectionString, loadConfig, nowMs } from "../lib/common.mjs";

const [rows = 10_000_000, runs = 7] = process.argv.slice(2).map(Number);
const pgc = loadConfig().pg;
const DB = process.env.BENCH_FIND_DB || "bench_et_find";
const conn = connectionString(pgc, DB);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const admin = new pg.Client({ connectionString: connectionString(pgc, "postgres") });
await admin.connect();
const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB])).rowCount === 1;
let seeded = false;
if (!(process.env.KEEP_DB === "1" && exists)) {
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  seeded = true;
}
await admin.end();
const client = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(conn), maxConnections: 2 }));
const run = (effect) => client.runPromise(effect.pipe(Effect.provide(TaskStore.layer())));
const db = new pg.Client({ connectionString: conn });
await db.connect();
if (seeded) {
  await run(Effect.flatMap(TaskStore.TaskStore, (store) => store.migrate));
  const t0 = nowMs();
  const chunk = 1_000_000;
  for (let from = 0; from < rows; from += chunk) {
    const to = Math.min(rows, from + chunk) - 1;
    await db.query(
      `INSERT INTO effect_tasks.tasks (key, queue, owner, status, args, attempt, max_attempts, unique_key, parent_id, root_id,
         created_at, started_at, finished_at, run_at)
       SELECT 'key-' || (g % 50), CASE WHEN g % 7 = 0 THEN 'mail' ELSE 'default' END, 'owner-' || (g % 10000),
         CASE WHEN g % 1000 = 1 THEN 'canceled' WHEN g % 100 = 3 THEN 'failed' ELSE 'succeeded' END,
         jsonb_build_object('orderId', g, 'region', CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END), 1, 1,
         CASE WHEN g % 100 = 0 THEN 'u-' || g END,
         CASE WHEN g % 10 <> 0 THEN g - g % 10 + 1 END, CASE WHEN g % 10 <> 0 THEN g - g % 10 + 1 END,
         ts, ts, ts + interval '10 milliseconds', ts
       FROM generate_series($1::bigint, $2::bigint) AS g,
         LATERAL (SELECT now() - ($3::bigint - g) * interval '10 milliseconds' AS ts) AS t`,
      [from, to, rows],
    );
    process.stderr.write(`seeded ${to + 1} rows (${Math.round((nowMs() - t0) / 1000)} s)\n`);
  }
  await db.query(`INSERT INTO effect_tasks.tasks (key, args, max_attempts) SELECT 'key-' || (g % 50), jsonb_build_object('orderId', -g), 1
    FROM generate_series(1, 1000) AS g`);
  await db.query("VACUUM ANALYZE effect_tasks.tasks");
}
const ago = (ms) => new Date(Date.now() - ms);
const cols = "id, status"; // the plan's shape does not depend on the columns read
const page = (where, params = [], order = "DESC") =>
  [`SELECT ${cols} FROM effect_tasks.tasks AS t WHERE ${where} ORDER BY t.id ${order} LIMIT 50`, params];
const cases = [
  ["newest page, no filter", () => TaskAdmin.list(), page("TRUE")],
  ["page 100 (keyset cursor)", () => TaskAdmin.list({}, { after: String(rows - 5000) }), page("TRUE AND t.id < $1::bigint", [rows - 5000])],
  ["status failed", () => TaskAdmin.list({ status: "failed" }), page("t.status = ANY($1::text[])", [["failed"]])],
  ["status initialized (waiting)", () => TaskAdmin.list({ status: "initialized" }), page("t.status = ANY($1::text[])", [["initialized"]])],
  ["status succeeded", () => TaskAdmin.list({ status: "succeeded" }), page("t.status = ANY($1::text[])", [["succeeded"]])],
  ["key", () => TaskAdmin.list({ key: "key-7" }), page("t.key = ANY($1::text[])", [["key-7"]])],
  ["queue mail", () => TaskAdmin.list({ queue: "mail" }), page("t.queue = $1", ["mail"])],
  ["owner", () => TaskAdmin.list({ owner: "owner-4242" }), page("t.owner = $1", ["owner-4242"])],
  ["rootId (a tree)", () => TaskAdmin.list({ rootId: "5001" }), page("t.root_id = $1::bigint", ["5001"])],
  ["parentId", () => TaskAdmin.list({ parentId: "5001" }), page("t.parent_id = $1::bigint", ["5001"])],
  ["uniqueKey", () => TaskAdmin.list({ uniqueKey: `u-${rows - 100}` }), page("t.unique_key = $1", [`u-${rows - 100}`])],
  ["created in a 1-minute range an hour ago", () => TaskAdmin.list({ createdAfter: ago(3_660_000), createdBefore: ago(3_600_000) }),
    page("t.created_at >= $1 AND t.created_at < $2", [ago(3_660_000), ago(3_600_000)])],
  ["finished in the last minute", () => TaskAdmin.list({ finishedAfter: ago(60_000) }), page("t.finished_at >= $1", [ago(60_000)])],
  ["args containment among failed", () => TaskAdmin.list({ status: "failed", args: { orderId: rows - 97 } }),
    page("t.status = ANY($1::text[]) AND t.args @> $2::jsonb", [["failed"], JSON.stringify({ orderId: rows - 97 })])],
  ["args containment with a key", () => TaskAdmin.list({ key: "key-3", args: { orderId: rows - 97 } }),
    page("t.key = ANY($1::text[]) AND t.args @> $2::jsonb", [["key-3"], JSON.stringify({ orderId: rows - 97 })])],
  ["count: failed with a key", () => TaskAdmin.count({ key: "key-3", status: "failed" }),
    ["SELECT count(*) FROM effect_tasks.tasks AS t WHERE t.key = ANY($1::text[]) AND t.status = ANY($2::text[])", [["key-3"], ["failed"]]]],
  ["stats", () => TaskAdmin.stats, null],
];
const results = [];
for (const [name, make, statement] of cases) {
  const times = [];
  let found;
  for (let i = 0; i < runs; i++) {
    const t0 = nowMs();
    found = await run(make());
    times.push(nowMs() - t0);
  }
  const size = Array.isArray(found) ? found.length : typeof found === "number" ? found : found.tasks.length;
  results.push({ call: name, medianMs: Number(median(times.slice(1)).toFixed(2)), results: size });
  if (statement !== null) {
    const plan = await db.query(`EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) ${statement[0]}`, statement[1]);
    console.log(`\n### ${name}\n${plan.rows.map((row) => row["QUERY PLAN"]).join("\n")}`);
  }
}
console.log("\n" + JSON.stringify({ rows, results }, null, 1));
await db.end();
await client.dispose();
