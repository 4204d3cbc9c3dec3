/**
 * A worker process whose spans are exported, one JSON line each, on stdout (`StdoutSpans`):
 * `node --import tsx tracedWorkerProcess.ts URL SCHEMA`. Runs the handlers of `traced.ts`.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { NodeRuntime } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Layer, Redacted } from "effect"
import { TaskManager } from "../../src/index.js"
import { handlers, StdoutSpans } from "./traced.js"

const [url, schema] = process.argv.slice(2)

const Tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "traced-worker" },
  spanProcessor: new SimpleSpanProcessor(new StdoutSpans())
}))

Layer.launch(
  Layer.mergeAll(...handlers).pipe(
    Layer.provideMerge(
      // Span annotations where the manager starts are on every span it makes.
      TaskManager.layer({ schema: schema!, stopTimeout: "500 millis", scanInterval: "200 millis" }).pipe(
        Layer.annotateSpans("deployment.environment.name", "test")
      )
    ),
    Layer.provide(PgClient.layer({ url: Redacted.make(url!) })),
    Layer.provide(Tracing)
  )
).pipe(NodeRuntime.runMain)
