/**
 * A worker process for the fencing tests: `node --import tsx recordingWorker.ts '<json>'`, with
 * `{ url, schema, nodeId, records, millis, options }` (options: TaskManager options). Its handler
 * for "recorded" appends the run's start and end (interrupted or not) to the `records` file, timed
 * by the machine's real clock (`performance.timeOrigin + performance.now()`), so the records stay
 * true when the test steps this process's wall clock: SIGUSR2 sets `Date.now` an hour back, which
 * is what `Clock.currentTimeMillis` reads.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { Task, TaskManager } from "../../src/index.js"
import { Recorded, type RunEvent } from "./recorded.js"

const config = JSON.parse(process.argv[2]!) as {
  readonly url: string
  readonly schema: string
  readonly nodeId: string
  readonly records: string
  readonly millis: number
  readonly maxConnections?: number
  readonly options?: TaskManager.Options
}

const realNow = () => performance.timeOrigin + performance.now()

process.on("SIGUSR2", () => {
  const wall = Date.now.bind(Date)
  Date.now = () => wall() - 3_600_000
})

const record = (event: Omit<RunEvent, "at" | "node">) =>
  Effect.sync(() =>
    fs.appendFileSync(config.records, JSON.stringify({ ...event, node: config.nodeId, at: realNow() } satisfies RunEvent) + "\n")
  )

const RecordedLive = Recorded.handler(() =>
  Effect.gen(function*() {
    const current = Option.getOrThrow(yield* Task.CurrentTask)
    yield* record({ task: current.id, attempt: current.attempt, event: "start" })
    yield* Effect.sleep(config.millis).pipe(
      Effect.onExit((exit) =>
        record({ task: current.id, attempt: current.attempt, event: "end", interrupted: Exit.isInterrupted(exit) })
      )
    )
  })
)

Layer.launch(
  RecordedLive.pipe(
    Layer.provideMerge(TaskManager.layer({ ...config.options, schema: config.schema, nodeId: config.nodeId })),
    Layer.provide(PgClient.layer({ url: Redacted.make(config.url), maxConnections: config.maxConnections ?? 10 }))
  )
).pipe(NodeRuntime.runMain)
