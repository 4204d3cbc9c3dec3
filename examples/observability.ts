/**
 * Observability out of the box: orders placed over HTTP, traced with `@effect/opentelemetry` (the
 * console exporter prints every span) and measured for Prometheus (`GET /metrics`).
 *
 * - `POST /orders?email=…` runs in the request's span: the order and its receipt task commit in
 *   one transaction, and the task carries the request's trace context and its `x-request-id`.
 * - The receipt's first attempt fails and the second succeeds: each attempt is a trace of its own
 *   (`process default`) with a span link to the request's `send default` span; every log line of
 *   the handler carries the task's id, key, queue, attempt and node.
 * - `GET /metrics` answers every metric in the Prometheus text format.
 *
 * It places one order itself, prints the metrics, and serves until Ctrl-C. Run it with
 * `npm run example:observability` (PORT, default 9464; DATABASE_URL, else an embedded PostgreSQL).
 */
import { NodeSdk } from "@effect/opentelemetry"
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Context, Effect, Layer, Metric, Option, Schedule, Schema } from "effect"
import { EmbeddedPostgres, Task, TaskManager, TaskMetrics, Tasks } from "effect-tasks"
import { createServer } from "node:http"

/** The caller's request id: read where the task is enqueued, provided to its handler. */
class RequestId extends Context.Reference<RequestId>()("example/RequestId", { defaultValue: () => "none" }) {}

const SendReceipt = Task.make("send-receipt", {
  args: Schema.Struct({ orderId: Schema.Number, email: Schema.String }),
  retry: { times: 2, schedule: Schedule.spaced("100 millis") },
  context: { reference: RequestId, schema: Schema.String }
})

const SendReceiptLive = SendReceipt.handler(({ email, orderId }) =>
  Effect.gen(function*() {
    const { attempt } = Option.getOrThrow(yield* Task.CurrentTask)
    yield* Effect.log(`mailing the receipt of order ${orderId} to ${email} (request ${yield* RequestId})`)
    if (attempt === 1) return yield* Effect.fail(new Error("mail server busy"))
  })
)

const placeOrder = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const request = yield* HttpServerRequest.HttpServerRequest
  const email = new URL(request.url, "http://localhost").searchParams.get("email") ?? "ada@example.com"
  const requestId = request.headers["x-request-id"] ?? "none"
  const placed = yield* sql.withTransaction(Effect.gen(function*() {
    const [order] = yield* sql<{ id: number }>`INSERT INTO orders (email) VALUES (${email}) RETURNING id`
    const taskId = yield* Tasks.run(SendReceipt, { orderId: order!.id, email })
    return { orderId: order!.id, taskId }
  })).pipe(Effect.provideService(RequestId, requestId))
  return yield* HttpServerResponse.json(placed)
})

const metrics = Effect.map(TaskMetrics.prometheus, (text) =>
  HttpServerResponse.text(text, { contentType: TaskMetrics.prometheusContentType }))

const router = HttpRouter.empty.pipe(
  HttpRouter.post("/orders", placeOrder),
  HttpRouter.get("/metrics", metrics)
)

const port = Config.integer("PORT").pipe(Config.withDefault(9464))

const HttpLive = Layer.unwrapEffect(Effect.map(port, (port) =>
  HttpServer.serve(router, HttpMiddleware.logger).pipe(
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port }))
  )))

/** Spans to the console; an OTLP exporter takes its place in production. */
const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-tasks-example" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

/** The story: one order through the app's own endpoint, then the metrics it left. */
const story = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY, email text NOT NULL)`
  const base = `http://localhost:${yield* port}`
  const placed = yield* Effect.promise(() =>
    fetch(`${base}/orders?email=ada@example.com`, { method: "POST", headers: { "x-request-id": "req-1" } })
      .then((response) => response.json() as Promise<{ readonly taskId: string }>)
  )
  yield* Effect.log(`order placed; receipt task ${placed.taskId}`)
  const succeeded = Effect.map(Metric.value(TaskMetrics.forTask(SendReceipt.key, "default").succeeded), (state) => state.count)
  yield* succeeded.pipe(Effect.repeat({ until: (count) => count >= 1, schedule: Schedule.spaced("50 millis") }))
  const text = yield* Effect.promise(() => fetch(`${base}/metrics`).then((response) => response.text()))
  yield* Effect.log(`metrics served at ${base}/metrics:\n${text.split("\n").filter((line) => line.startsWith("effect_tasks_")).join("\n")}`)
  yield* Effect.log("serving until Ctrl-C")
  return yield* Effect.never
})

const WorkerLive = SendReceiptLive.pipe(Layer.provideMerge(TaskManager.layer({ poolSize: 4 })))

story.pipe(
  Effect.provide(Layer.mergeAll(HttpLive, WorkerLive)),
  Effect.provide(EmbeddedPostgres.layerConfig()),
  Effect.provide(TracingLive),
  NodeRuntime.runMain
)
