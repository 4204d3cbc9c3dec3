import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Tasks, TaskStatus } from "../src/index.js"
import { databaseUrl, inSchema, PgTest } from "./support/database.js"
import { spawnTsx } from "./support/process.js"
import { Child, Flaky, Inline, Parent, RequestId, spanLine, type SpanSummary, summarize } from "./support/traced.js"
import { waitFor } from "./support/waitFor.js"
import { migratedSchema, storeOf, waitForStatus } from "./support/worker.js"

const exported = new InMemorySpanExporter()
const Tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "observability-test" },
  spanProcessor: new SimpleSpanProcessor(exported)
}))

/** The spans the worker process printed so far. */
const workerSpans = (output: Effect.Effect<string>) =>
  Effect.map(output, (text) =>
    text.split("\n").filter((line) => line.startsWith(spanLine)).map((line) => JSON.parse(line.slice(spanLine.length)) as SpanSummary))

const byId = (spans: ReadonlyArray<SpanSummary>, id: string) =>
  spans.filter((span) => span.name === "process default" && span.attributes["messaging.message.id"] === id)

layer(PgTest, { excludeTestServices: true })("observability", (it) => {
  it.scoped("an attempt in another process links to the request's enqueue: retries all link to it, children to their parent's attempt, and the context travels", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      exported.reset()
      // A request's span (as an HTTP server would open) enqueues the tasks.
      const [flaky, parent, inline] = yield* Effect.all([
        Tasks.run(Flaky, {}),
        Tasks.run(Parent, {}),
        Tasks.run(Inline, {})
      ]).pipe(
        Effect.provideService(RequestId, "req-42"),
        Effect.withSpan("GET /orders", { kind: "server" }),
        inSchema(schema)
      )
      const local = exported.getFinishedSpans().map(summarize)
      const request = local.find((span) => span.name === "GET /orders")!
      const sends = local.filter((span) => span.name === "send default")
      expect(sends).toHaveLength(3)
      for (const send of sends) {
        expect(send).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId })
        expect(send.attributes).toMatchObject({
          "messaging.system": "effect_tasks",
          "messaging.operation.type": "send",
          "messaging.destination.name": "default"
        })
      }
      const sendOf = (id: string) => sends.find((span) => span.attributes["messaging.message.id"] === id)!

      const worker = yield* spawnTsx("test/support/tracedWorkerProcess.ts", [databaseUrl(), schema], { output: "capture" })
      const [child] = yield* waitFor(
        "the parent's child",
        Effect.flatMap(storeOf(schema), (store) => store.list({ key: [Child.key] }, { limit: 10, order: "oldest" })),
        (rows) => rows.length === 1
      )
      yield* waitForStatus(schema, [flaky, parent, inline, child!.id], [TaskStatus.succeeded])
      const spans = yield* waitFor(
        "the worker's spans",
        workerSpans(worker.output),
        (spans) => byId(spans, flaky).length === 2 && byId(spans, child!.id).length === 1 && byId(spans, inline).length === 1
      )

      // Each attempt is a trace of its own, linked to the enqueue in the request's trace.
      const attempts = byId(spans, flaky)
      expect(attempts.map((span) => span.attributes["effect_tasks.task.attempt"]).sort()).toEqual([1, 2])
      for (const attempt of attempts) {
        expect(attempt.links).toEqual([{ traceId: request.traceId, spanId: sendOf(flaky).spanId }])
        expect(attempt.traceId).not.toBe(request.traceId)
        expect(attempt.parentSpanId).toBeUndefined()
        expect(attempt.attributes).toMatchObject({
          "messaging.system": "effect_tasks",
          "messaging.operation.type": "process",
          "effect_tasks.task.key": Flaky.key,
          "test.request_id": "req-42",
          "deployment.environment.name": "test"
        })
      }
      const failed = attempts.find((span) => span.attributes["effect_tasks.task.attempt"] === 1)!
      expect(failed.status).toBe(2) // ERROR
      expect(failed.events).toContain("exception")
      expect(failed.attributes["effect_tasks.task.outcome"]).toBe("retry")
      expect(attempts.find((span) => span.attributes["effect_tasks.task.attempt"] === 2)!.attributes["effect_tasks.task.outcome"])
        .toBe("succeed")
      // Each attempt's end was written in a settle span: the attempt's child when the statement
      // wrote it alone, else one linked to every attempt whose end it wrote.
      for (const attempt of attempts) {
        const settle = spans.find((span) =>
          span.name.startsWith("settle") &&
          (span.parentSpanId === attempt.spanId || span.links.some((link) => link.spanId === attempt.spanId))
        )
        expect(settle?.attributes["messaging.operation.type"]).toBe("settle")
        expect(settle?.attributes["deployment.environment.name"]).toBe("test")
        if (settle?.parentSpanId === attempt.spanId) expect(settle.traceId).toBe(attempt.traceId)
        else expect(settle?.attributes["messaging.batch.message_count"]).toBe(settle?.links.length)
      }

      // The child was enqueued inside its parent's attempt, and its attempt links there.
      const [parentAttempt] = byId(spans, parent)
      const childSend = spans.find((span) => span.name === "send default" && span.attributes["messaging.message.id"] === child!.id)!
      expect(childSend).toMatchObject({ traceId: parentAttempt!.traceId, parentSpanId: parentAttempt!.spanId })
      const [childAttempt] = byId(spans, child!.id)
      expect(childAttempt!.links).toEqual([{ traceId: parentAttempt!.traceId, spanId: childSend.spanId }])
      expect(childAttempt!.attributes["test.request_id"]).toBe("req-42")

      // trace: "parent" puts the attempt inside the request's own trace.
      const [inlineAttempt] = byId(spans, inline)
      expect(inlineAttempt).toMatchObject({ traceId: request.traceId, parentSpanId: sendOf(inline).spanId, links: [] })
      // (Inside the tracing layer's scope: its exporter is emptied when the layer is released.)
    }).pipe(Effect.provide(Tracing)), { timeout: 60_000 })
})
