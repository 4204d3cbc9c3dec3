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

const [url, schema, speed] = process.argv.slice(2)
const timings: TaskManager.Options = speed === "fast"
  ? { heartbeatInterval: "250 millis", nodeTimeout: "2 seconds", rescueInterval: "250 millis" }
  : {}

/**
 * Sleeps a minute. When the schema has a `test_events` table (a test that watches the handler made
 * it), it records the checkpoint an attempt resumes from, its start and, when the attempt is
 * interrupted, its finalizer. With a third argument `fast`, the node's heartbeat is 250 ms and its
 * timeout 2 s, so a killed process's tasks are rescued within seconds.
 */
const SleepyLive = Sleepy.handler(() =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { id } = Option.getOrThrow(yield* Task.CurrentTask)
    const record = (event: string) =>
      sql`INSERT INTO ${sql(`${schema}.test_events`)} (task_id, event) VALUES (${id}::bigint, ${event})`.pipe(Effect.ignore)
    const from = yield* Sleepy.lastCheckpoint
    if (Option.isSome(from)) yield* record(`from step ${from.value.step}`)
    const step = Option.match(from, { onNone: () => 1, onSome: ({ step }) => step + 1 })
    // The finalizer covers the whole attempt from its recorded start.
    yield* Effect.all([record("started"), Sleepy.checkpoint({ step }), Effect.sleep("60 seconds")]).pipe(
      Effect.onInterrupt(() => record("finalized"))
    )
  })
)

Layer.launch(
  SleepyLive.pipe(
    Layer.provideMerge(TaskManager.layer({ schema: schema!, stopTimeout: "500 millis", scanInterval: "200 millis", ...timings })),
    Layer.provide(PgClient.layer({ url: Redacted.make(url!) }))
  )
).pipe(NodeRuntime.runMain)
