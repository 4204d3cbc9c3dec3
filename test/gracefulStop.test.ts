import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Ref, Schema, Tracer } from "effect"
import { Task, Tasks, TaskStatus } from "../src/index.js"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { lastRoundOf, nodeIds, sleepyTaskInAProcess, startWorker, storeOf, twoClaimRoundsLater, waitForStatus } from "./support/worker.js"
import { waitFor } from "./support/waitFor.js"

const Job = Task.make("job", { args: Schema.Struct({ millis: Schema.Number }), retry: { times: 3 } })

layer(PgTest, { excludeTestServices: true })("graceful stop", (it) => {
  it.scoped("waits for running tasks up to stopTimeout, interrupts the rest, leaves none running; a new manager runs them", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const started = yield* Ref.make(0)
      const interrupted = yield* Ref.make(0)
      const allStarted = yield* Deferred.make<void>()
      const live = Job.handler(({ millis }) =>
        Effect.gen(function*() {
          if ((yield* Ref.updateAndGet(started, (n) => n + 1)) === 4) yield* Deferred.succeed(allStarted, undefined)
          yield* Effect.sleep(millis)
        }).pipe(Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)))
      )
      // With a tracer that keeps every span it makes: each attempt's span ends, a handed-back one too.
      const spans: Array<Tracer.Span> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = base.span(name, parent, context, links, startTime, kind, options)
          spans.push(span)
          return span
        },
        context: base.context
      })
      const worker = yield* startWorker(live, { schema, poolSize: 4, stopTimeout: "700 millis", scanInterval: "200 millis" }).pipe(
        Effect.withTracer(tracer)
      )
      const [quick1, quick2, slow1, slow2] = yield* Tasks.runMany(Job, [
        { millis: 300 },
        { millis: 300 },
        { millis: 60_000 },
        { millis: 60_000 }
      ]).pipe(inSchema(schema))
      yield* Deferred.await(allStarted)

      const before = yield* Clock.currentTimeMillis
      yield* worker.stop
      const stopMillis = (yield* Clock.currentTimeMillis) - before
      yield* Effect.log(`stop took ${stopMillis} ms with stopTimeout 700 ms`)
      expect(stopMillis).toBeGreaterThanOrEqual(650)
      expect(stopMillis).toBeLessThan(3000)

      const store = yield* storeOf(schema)
      const rows = yield* store.getMany([quick1!, quick2!, slow1!, slow2!])
      expect(rows.map((row) => row.status)).toEqual(["succeeded", "succeeded", "initialized", "initialized"])
      // The interrupted attempts do not count, and their claims are gone.
      expect(rows.slice(2).map((row) => [row.attempt, row.claimToken])).toEqual([[0, null], [0, null]])
      expect(yield* Ref.get(interrupted)).toBe(2)
      const running = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)} WHERE status = ${TaskStatus.running}`
      expect(running[0]?.n).toBe(0)
      const attempts = spans.filter((span) => span.name === "process default")
      const ended = (id: string) => {
        const span = attempts.find((span) => span.attributes.get("messaging.message.id") === id)
        // A released attempt ended well: its span is no error.
        return span?.status._tag === "Ended" && Exit.isSuccess(span.status.exit)
          ? span.attributes.get("effect_tasks.task.outcome")
          : span?.status._tag
      }
      expect([quick1!, quick2!, slow1!, slow2!].map(ended)).toEqual(["succeed", "succeed", "release", "release"])

      // A new manager (here: one whose handler is quick) runs the handed-back tasks.
      const Quick = Job.handler(() => Effect.void)
      yield* startWorker(Quick, { schema, scanInterval: "200 millis" })
      const finished = yield* waitForStatus(schema, [slow1!, slow2!], [TaskStatus.succeeded])
      expect(finished.map((row) => row.attempt)).toEqual([1, 1])
    }))

  it.scoped("a task handed back by a stop runs before the newer work of its group", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const started = yield* Deferred.make<void>()
      const blocking = Job.handler(() => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
      const worker = yield* startWorker(blocking, { schema, poolSize: 1, stopTimeout: "100 millis", scanInterval: "200 millis" })
      const first = yield* Tasks.run(Job, { millis: 0 }).pipe(inSchema(schema))
      yield* Deferred.await(started)
      const newer = yield* Tasks.runMany(Job, [{ millis: 1 }, { millis: 2 }]).pipe(inSchema(schema))
      yield* worker.stop
      const order = yield* Ref.make<ReadonlyArray<number>>([])
      yield* startWorker(Job.handler(({ millis }) => Ref.update(order, (seen) => [...seen, millis])), { schema, poolSize: 1 })
      yield* waitForStatus(schema, [first, ...newer], [TaskStatus.succeeded])
      expect(yield* Ref.get(order)).toEqual([0, 1, 2])
    }))

  it.scoped("a stop with nothing running is immediate, and claims nothing afterwards", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const runs = yield* Ref.make(0)
      const worker = yield* startWorker(Job.handler(() => Ref.update(runs, (n) => n + 1)), {
        schema,
        scanInterval: "100 millis"
      })
      const before = yield* Clock.currentTimeMillis
      yield* worker.stop
      expect((yield* Clock.currentTimeMillis) - before).toBeLessThan(500)
      const claimerRoundsAtStop = yield* lastRoundOf(worker.manager, "claimer")
      const id = yield* Tasks.run(Job, { millis: 0 }).pipe(inSchema(schema))
      // Its NOTIFY reached no one on the stopped node: another node started afterwards runs it, and
      // the stopped node's claimer has not completed a round since its stop.
      const otherRuns = yield* Ref.make(0)
      const other = yield* startWorker(Job.handler(() => Ref.update(otherRuns, (n) => n + 1)), { schema })
      yield* twoClaimRoundsLater(other.manager)
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      expect(yield* Ref.get(otherRuns)).toBe(1)
      expect(yield* Ref.get(runs)).toBe(0)
      expect(yield* lastRoundOf(worker.manager, "claimer")).toEqual(claimerRoundsAtStop)
    }))
})

layer(PgTest, { excludeTestServices: true })("graceful stop, the last step", (it) => {
  it.scoped("a stop hands back claims of its node that no executor holds (a write that failed, a claim cut short)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const worker = yield* startWorker(Job.handler(() => Effect.void), { schema, nodeId: "node-x", scanInterval: "30 seconds" })
      const [stranded, foreign] = yield* Tasks.runMany(Job, [{ millis: 0 }, { millis: 0 }]).pipe(inSchema(schema))
      // As if claimed by this node and by another, with no executor behind either.
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET status = 'running', attempt = 1, claim_token = gen_random_uuid(),
        claimed_by = CASE WHEN id = ${stranded!}::bigint THEN 'node-x' ELSE 'node-y' END WHERE id IN (${stranded!}::bigint, ${foreign!}::bigint)`
      yield* worker.stop
      const rows = yield* (yield* storeOf(schema)).getMany([stranded!, foreign!])
      expect(rows.map((row) => [row.status, row.attempt, row.claimedBy])).toEqual([
        ["initialized", 0, null],
        ["running", 1, "node-y"]
      ])
    }))
})

layer(PgTest, { excludeTestServices: true })("graceful stop, a handler that will not stop", (it) => {
  it.scoped("keeps its claim: the stop never hands back a task that still runs", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const live = Job.handler(() =>
        Effect.uninterruptible(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)))
      )
      const worker = yield* startWorker(live, { schema, nodeId: "stubborn", stopTimeout: "200 millis", scanInterval: "100 millis" })
      const id = yield* Tasks.run(Job, { millis: 0 }).pipe(inSchema(schema))
      yield* Deferred.await(started)
      const stopping = yield* Effect.fork(worker.stop)
      // The stop's last step removes the node from the registry: past stopTimeout, the hand-back
      // wait and the release, the task is still claimed by the node whose handler runs.
      yield* waitFor("the stopping node deregistered", nodeIds(schema), (ids) => !ids.includes("stubborn"))
      const [row] = yield* (yield* storeOf(schema)).getMany([id])
      expect(row).toMatchObject({ status: "running", claimedBy: "stubborn" })
      yield* Deferred.succeed(release, undefined)
      yield* stopping.await
    }), { timeout: 30_000 })
})

layer(PgTest, { excludeTestServices: true })("graceful stop of a process", (it) => {
  it.scoped("SIGINT to a worker process stops it cleanly and hands its running task back", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const { child, id, store } = yield* sleepyTaskInAProcess(databaseUrl(), schema)
      yield* child.kill("SIGINT")
      const code = yield* child.exited.pipe(Effect.timeout("10 seconds"))
      expect(code).toBe(0)
      const [row] = yield* store.getMany([id])
      expect(row).toMatchObject({ status: "initialized", attempt: 0, claimToken: null, claimedBy: null })
    }), { timeout: 60_000 })
})
