/**
 * A worker process for tests: `node --import tsx workerProcess.ts URL SCHEMA`. Runs a handler for
 * "sleepy" that sleeps for a minute (recording its start and finalizer, see `SleepyLive`), under NodeRuntime.runMain, so SIGINT triggers the graceful stop.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Redacted } from "effect"
import { Task, TaskManager } from "../../src/index.js"
import { Sleepy } from "./sleepy.js"

const [url, schema] = process.argv.slice(2)

/**
 * Sleeps a minute. When the schema has a `test_events` table (a test that watches the handler made
 * it), it records the attempt's start and, when the attempt is interrupted, its finalizer.
 */
const SleepyLive = Sleepy.handler(() =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { id } = Option.getOrThrow(yield* Task.CurrentTask)
    const record = (event: string) =>
      sql`INSERT INTO ${sql(`${schema}.test_events`)} (task_id, event) VALUES (${id}::bigint, ${event})`.pipe(Effect.ignore)
    yield* record("started")
    yield* Effect.sleep("60 seconds").pipe(Effect.onInterrupt(() => record("finalized")))
  })
)

Layer.launch(
  SleepyLive.pipe(
    Layer.provideMerge(TaskManager.layer({ schema: schema!, stopTimeout: "500 millis", scanInterval: "200 millis" })),
    Layer.provide(PgClient.layer({ url: Redacted.make(url!) }))
  )
).pipe(NodeRuntime.runMain)
