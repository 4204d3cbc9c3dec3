import { expect, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, FiberRef, HashMap, HashSet, Logger, Metric, Option, Schedule, Schema, Tracer } from "effect"
import { Task, TaskMetrics, Tasks, TaskStatus } from "../src/index.js"
import { inSchema, PgTest } from "./support/database.js"
import { Inline } from "./support/traced.js"
import { waitFor } from "./support/waitFor.js"
import { migratedSchema, startWorker, twoRoundsLater, waitForStatus } from "./support/worker.js"

interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** A logger that keeps every line (at the default minimum level, Info) with its annotations. */
const capturing = (lines: Array<Line>) =>
  Logger.make(({ annotations, logLevel, message }) =>
    void lines.push({
      level: logLevel.label,
      message: String(Array.isArray(message) ? message[0] : message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    }))

interface Recorded {
  readonly name: string
  readonly isRoot: boolean
  readonly parent: string | undefined
  readonly links: number
  readonly attributes: Record<string, unknown>
}

/** A tracer that records each span's name and parent, then makes it as `base` does. */
const recording = (base: Tracer.Tracer, spans: Array<Recorded>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      spans.push({
        name,
        isRoot: Option.isNone(parent),
        parent: Option.match(parent, { onNone: () => undefined, onSome: (span) => (span._tag === "Span" ? span.name : "external") }),
        links: links.length,
        attributes: options?.attributes ?? {}
      })
      return base.span(name, parent, context, links, startTime, kind, options)
    },
    context: (f, fiber) => base.context(f, fiber)
  })

const count = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

layer(PgTest, { excludeTestServices: true })("metrics, logs and maintenance spans", (it) => {
  it.scoped("a scenario moves every metric as predicted: 3 enqueued, 2 succeed, 1 retried then failed; gauges, logs and spans follow", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      // Metrics are process-wide: a key and queue of this run only.
      const run = Math.random().toString(36).slice(2, 8)
      const queue = `metered-${run}`
      const Metered = Task.make(`metered-${run}`, {
        args: Schema.Struct({ n: Schema.Number }),
        queue,
        retry: { times: 1, schedule: Schedule.spaced("10 millis") }
      })
      const counted = TaskMetrics.forTask(Metered.key, queue)

      // A leader that does not run Metered: it reports the queue's gauges; its spans are recorded.
      const spans: Array<Recorded> = []
      const tracer = recording(yield* Effect.tracer, spans)
      const leader = yield* startWorker(Inline.handler(() => Effect.void), {
        schema,
        rescueInterval: "50 millis",
        checkInterval: "100 millis",
        gaugeInterval: "50 millis",
        heartbeatInterval: "100 millis",
        nodeTimeout: "1 second",
        scanInterval: "50 millis"
      }).pipe(Effect.withTracer(tracer))
      yield* waitFor("leadership", leader.manager.isLeader, (isLeader) => isLeader)

      const ids = yield* Tasks.runMany(Metered, [{ n: 1 }, { n: 2 }, { n: 3 }]).pipe(inSchema(schema))
      expect(yield* count(counted.enqueued)).toBe(3)
      const waiting = Metric.tagged(TaskMetrics.queues.waiting, "queue", queue)
      const oldest = Metric.tagged(TaskMetrics.queues.oldestWaiting, "queue", queue)
      yield* waitFor("the waiting gauge", Metric.value(waiting), (gauge) => gauge.value === 3)
      yield* waitFor("the oldest wait to grow", Metric.value(oldest), (gauge) => gauge.value > 0)

      // The claims and heartbeats the leader made meanwhile recorded no span; its rounds did.
      const rootsBefore = spans.filter((span) => span.isRoot && span.name === "sql.execute").length
      yield* twoRoundsLater(leader.manager, "heartbeat")
      yield* twoRoundsLater(leader.manager, "claimer", leader.manager.wake)
      expect(spans.filter((span) => span.isRoot && span.name === "sql.execute").length).toBe(rootsBefore)
      const roots = new Set(spans.filter((span) => span.isRoot).map((span) => span.name))
      for (const round of ["effect_tasks.rescue", "effect_tasks.check", "effect_tasks.clean"]) expect(roots).toContain(round)

      // A second worker runs them; every line its handler logs carries the attempt's annotations.
      const lines: Array<Line> = []
      yield* Effect.locallyScopedWith(FiberRef.currentLoggers, HashSet.add(capturing(lines)))
      const claimedBefore = yield* count(TaskMetrics.claimed)
      const roundsBefore = (yield* Metric.value(TaskMetrics.claimRound)).count
      const runner = yield* startWorker(
        Metered.handler(({ n }) =>
          Effect.zipRight(Effect.logInfo(`handling ${n}`), n === 3 ? Effect.fail(new Error("three always fails")) : Effect.void)
        ),
        { schema, nodeId: `runner-${run}` }
      ).pipe(Effect.withTracer(tracer))
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded, TaskStatus.failed])
      expect(yield* count(counted.started)).toBe(4)
      expect(yield* count(counted.succeeded)).toBe(2)
      expect(yield* count(counted.retried)).toBe(1)
      expect(yield* count(counted.failed)).toBe(1)
      expect(yield* count(counted.staleWrites)).toBe(0)
      expect((yield* Metric.value(counted.waitTime)).count).toBe(4)
      expect((yield* Metric.value(counted.runTime)).count).toBe(4)
      expect((yield* count(TaskMetrics.claimed)) - claimedBefore).toBeGreaterThanOrEqual(4)
      expect((yield* Metric.value(TaskMetrics.claimRound)).count).toBeGreaterThan(roundsBefore)
      yield* waitFor("the waiting gauge to drop", Metric.value(waiting), (gauge) => gauge.value === 0)

      // With a tracer, each attempt had its process span, and its end was written in a settle span:
      // the attempt's child when the statement wrote its end alone, else a root linked to each attempt.
      expect(spans.filter((span) => span.name === `process ${queue}` && span.isRoot)).toHaveLength(4)
      const settles = spans.filter((span) => span.name === `settle ${queue}`)
      for (const settle of settles) {
        if (settle.isRoot) {
          expect(settle.links).toBe(settle.attributes["messaging.batch.message_count"])
          expect(settle.links).toBeGreaterThan(1)
        } else {
          expect(settle.parent).toBe(`process ${queue}`)
          expect(settle.attributes["messaging.message.id"]).toBeDefined()
        }
      }
      expect(settles.reduce((ends, settle) => ends + (settle.isRoot ? settle.links : 1), 0)).toBe(4)
      const handled = lines.filter((line) => line.message.startsWith("handling "))
      expect(handled).toHaveLength(4)
      for (const line of handled) {
        expect(Object.keys(line.annotations).sort()).toEqual(["attempt", "nodeId", "queue", "taskId", "taskKey"])
        expect(line.annotations).toMatchObject({ taskKey: Metered.key, queue, nodeId: `runner-${run}` })
        expect(ids).toContain(line.annotations.taskId)
        expect([1, 2]).toContain(line.annotations.attempt)
      }
      // The library's own lines: one per failed attempt, none for a success.
      const own = lines.filter((line) => !line.message.startsWith("handling ") && line.annotations.taskId !== undefined)
      for (const line of own) expect(line.annotations).toMatchObject({ module: "TaskManager", fiber: "executor" })
      expect(own.map((line) => [line.level, line.annotations.taskId, line.message])).toEqual([
        ["WARN", ids[2], "attempt 1/2 failed; retrying in 10ms"],
        ["ERROR", ids[2], "attempt 2/2 failed; the task has failed"]
      ])

      // The same figures in the Prometheus text (label values escaped as the format asks).
      yield* Metric.increment(Metric.tagged(Metric.counter(`odd_labels_${run}_total`), "path", "a\"b\\c\nd"))
      const text = yield* TaskMetrics.prometheus
      expect(text).toContain(`odd_labels_${run}_total{path="a\\"b\\\\c\\nd"} 1`)
      const tags = `task_key="${Metered.key}",queue="${queue}"`
      expect(text).toContain(`# TYPE effect_tasks_succeeded_total counter`)
      expect(text).toContain(`effect_tasks_succeeded_total{${tags}} 2`)
      expect(text).toContain(`effect_tasks_retried_total{${tags}} 1`)
      expect(text).toContain(`effect_tasks_enqueued_total{${tags}} 3`)
      expect(text).toContain(`# TYPE effect_tasks_wait_ms histogram`)
      expect(text).toContain(`effect_tasks_run_ms_bucket{${tags},le="+Inf"} 4`)
      expect(text).toContain(`effect_tasks_run_ms_count{${tags}} 4`)
      expect(text).toContain(`effect_tasks_waiting{queue="${queue}"} 0`)
      yield* runner.stop
    }), { timeout: 60_000 })

  it.scoped("a transactional handler's transaction and statements are inside its attempt's span", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      const run = Math.random().toString(36).slice(2, 8)
      const queue = `tx-${run}`
      const Write = Task.make(`write-${run}`, { args: Schema.Struct({}), queue, transactional: true })
      const spans: Array<Recorded> = []
      yield* startWorker(
        Write.handler(() => Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`)),
        { schema }
      ).pipe(Effect.withTracer(recording(yield* Effect.tracer, spans)))
      const id = yield* Tasks.run(Write, {}).pipe(inSchema(schema))
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      yield* waitFor("the attempt's spans", Effect.sync(() => spans), (all) => all.some((span) => span.name === `process ${queue}`))
      expect(spans.filter((span) => span.name === "sql.transaction" && span.parent === `process ${queue}`)).toHaveLength(1)
      expect(spans.filter((span) => span.name === "sql.execute" && span.parent === "sql.transaction").length).toBeGreaterThanOrEqual(2)
    }))
})
