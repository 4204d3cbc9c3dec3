/**
 * A chaos-test worker process: `node --import tsx chaosWorker.ts URL SCHEMA NODE [MAX_WORKER_LOSSES]`. Runs "chaos-job"
 * tasks that sleep, then record their execution (task, attempt, node) in `<schema>.executions`.
 * Settings are short, so a killed node's work moves on within a couple of seconds.
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { Task, TaskManager } from "../../src/index.js"
import { ChaosJob } from "./chaosJob.js"

const [url, schema, node, maxWorkerLosses] = process.argv.slice(2)

const ChaosJobLive = ChaosJob.handler(({ millis }) =>
  Effect.gen(function*() {
    const startedAt = new Date(yield* Clock.currentTimeMillis)
    yield* Effect.sleep(millis)
    const current = Option.getOrThrow(yield* Task.CurrentTask)
    const sql = yield* SqlClient.SqlClient
    const endedAt = new Date(yield* Clock.currentTimeMillis)
    yield* sql`INSERT INTO ${sql(`${schema}.executions`)} (task_id, attempt, node, started_at, ended_at)
      VALUES (${current.id}::bigint, ${current.attempt}, ${node!}, ${startedAt}, ${endedAt})`
  })
)

Layer.launch(
  ChaosJobLive.pipe(
    Layer.provideMerge(TaskManager.layer({
      schema: schema!,
      nodeId: node!,
      poolSize: 4,
      scanInterval: "500 millis",
      heartbeatInterval: "250 millis",
      nodeTimeout: "2 seconds",
      rescueInterval: "250 millis",
      stopTimeout: "1 second",
      maxWorkerLosses: maxWorkerLosses === undefined ? undefined : Number(maxWorkerLosses)
    })),
    Layer.provide(
      PgClient.layer({ url: Redacted.make(url!), maxConnections: 6, applicationName: "chaos-worker", connectTimeout: "2 seconds" })
    ),
    Layer.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo("60 seconds")))
  )
).pipe(NodeRuntime.runMain)
