/**
 * A worker process for tests: `node --import tsx workerProcess.ts URL SCHEMA`. Runs a handler for
 * "sleepy" that sleeps for a minute, under NodeRuntime.runMain, so SIGINT triggers the graceful stop.
 */
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { TaskManager } from "../../src/index.js"
import { Sleepy } from "./sleepy.js"

const [url, schema] = process.argv.slice(2)

const SleepyLive = Sleepy.handler(() => Effect.sleep("60 seconds"))

Layer.launch(
  SleepyLive.pipe(
    Layer.provideMerge(TaskManager.layer({ schema: schema!, stopTimeout: "500 millis", scanInterval: "200 millis" })),
    Layer.provide(PgClient.layer({ url: Redacted.make(url!) }))
  )
).pipe(NodeRuntime.runMain)
