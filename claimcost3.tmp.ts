import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Redacted } from "effect"
import { SchedulingPolicy, TaskStore } from "./src/index.js"

const schema = "bench_claim3"
const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
  const store = yield* TaskStore.make({ schema })
  yield* store.migrate
  const t = sql(`${schema}.tasks`)
  for (const owners of [1000, 10000]) {
    yield* sql`DELETE FROM ${t}`
    yield* sql`INSERT INTO ${t} (key, args, max_attempts, owner) SELECT 'job', '{}'::jsonb, 1, 'o' || (g % ${owners}) FROM generate_series(1, 100000) g`
    yield* sql`ANALYZE ${t}`
    const start = Date.now()
    for (let i = 0; i < 10; i++) {
      yield* store.claim({ keys: ["job"], timeouts: [Duration.minutes(1)], deadlineGrace: Duration.seconds(1), limit: 10, nodeId: "b", leaseDuration: Duration.minutes(1), policy: SchedulingPolicy.fair() })
    }
    console.log(`100k waiting in ${owners} owners, fair: ${(Date.now() - start) / 10} ms/claim (jit ${process.env.JIT})`)
  }
  yield* sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
})
Effect.runPromise(program.pipe(Effect.provide(PgClient.layer({ url: Redacted.make("postgres://postgres@127.0.0.1:5432/test") })))).catch(console.error)
