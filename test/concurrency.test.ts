import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { asAdmin, claimRequest, migratedSchema, startWorker, storeOf, waitForListener, waitForStatus } from "./support/worker.js"

const Work = Task.make("work", { args: Schema.Struct({ lane: Schema.String, n: Schema.Number }) })
const Other = Task.make("other", { args: Schema.Struct({ n: Schema.Number }) })

/** Handlers running at once, per lane (and node), and the most ever seen. */
const makeGauge = Effect.map(
  Ref.make<{ readonly now: Record<string, number>; readonly max: Record<string, number> }>({ now: {}, max: {} }),
  (state) => ({
    track: <A, E, R>(labels: ReadonlyArray<string>, self: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Ref.update(state, ({ max, now }) => {
          const next = { ...now }
          const highest = { ...max }
          for (const label of labels) {
            next[label] = (next[label] ?? 0) + 1
            highest[label] = Math.max(highest[label] ?? 0, next[label]!)
          }
          return { now: next, max: highest }
        }),
        () => self,
        () =>
          Ref.update(state, ({ max, now }) => {
            const next = { ...now }
            for (const label of labels) next[label] = next[label]! - 1
            return { now: next, max }
          })
      ),
    max: Effect.map(Ref.get(state), (snapshot) => snapshot.max)
  })
)

const enqueue = (schema: string, lane: string, count: number) =>
  Tasks.runMany(Work, Array.from({ length: count }, (_, n) => ({ lane, n })), { queue: lane }).pipe(inSchema(schema))

layer(PgTest, { excludeTestServices: true })("per-queue concurrency", (it) => {
  it.scoped("a queue's per-node limit is never exceeded, and other queues are not held back by it", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      yield* TaskAdmin.defineQueue({ name: "narrow", concurrencyPerNode: 2 }).pipe(asAdmin(schema))
      const gauge = yield* makeGauge
      const narrow = yield* enqueue(schema, "narrow", 10)
      const wide = yield* enqueue(schema, "wide", 10)
      // A 30 s scan: the slot a finished task frees is announced (NOTIFY), not found by scanning.
      yield* startWorker(Work.handler(({ lane }) => gauge.track([lane], Effect.sleep("100 millis"))), {
        schema,
        poolSize: 8,
        scanInterval: "30 seconds"
      })
      yield* waitForStatus(schema, [...narrow, ...wide], [TaskStatus.succeeded], "10 seconds")
      const max = yield* gauge.max
      expect(max["narrow"]).toBe(2)
      expect(max["wide"]).toBeGreaterThanOrEqual(4)
    }))

  it.scoped("across two nodes: a cluster-wide limit is never exceeded, and a per-node limit holds on each node", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      yield* TaskAdmin.defineQueue({ name: "cluster", concurrency: 3 }).pipe(asAdmin(schema))
      yield* TaskAdmin.defineQueue({ name: "each", concurrencyPerNode: 1 }).pipe(asAdmin(schema))
      const gauge = yield* makeGauge
      const node = (nodeId: string) =>
        startWorker(
          Work.handler(({ lane }) => gauge.track([lane, `${lane}@${nodeId}`], Effect.sleep("150 millis"))),
          { schema, nodeId, poolSize: 5, scanInterval: "30 seconds" }
        )
      yield* node("a")
      yield* node("b")
      const ids = [...yield* enqueue(schema, "cluster", 15), ...yield* enqueue(schema, "each", 8)]
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded], "15 seconds")
      const max = yield* gauge.max
      expect(max["cluster"]).toBe(3)
      expect(max["each@a"]).toBe(1)
      expect(max["each@b"]).toBe(1)
      expect(max["each"]).toBe(2)
    }), { timeout: 30_000 })

  it.scoped("a limit set while tasks run never stops them: it holds back claims until the queue is under it", () =>
    Effect.gen(function*() {
      const { schema } = yield* migratedSchema
      yield* startWorker(Work.handler(() => Effect.sleep("400 millis")), { schema, poolSize: 6, scanInterval: "30 seconds" })
      const first = yield* enqueue(schema, "lane", 3)
      yield* waitForStatus(schema, first, [TaskStatus.running], "5 seconds")
      yield* TaskAdmin.defineQueue({ name: "lane", concurrency: 1, maxSize: 100 }).pipe(asAdmin(schema))
      expect(yield* TaskAdmin.queues.pipe(asAdmin(schema))).toEqual([
        { name: "lane", maxSize: 100, concurrency: 1, concurrencyPerNode: null }
      ])
      const later = yield* enqueue(schema, "lane", 2)
      const rows = yield* waitForStatus(schema, [...first, ...later], [TaskStatus.succeeded], "10 seconds")
      const [a, b, c, d, e] = rows
      for (const row of [a, b, c]) expect(row!.attempt).toBe(1)
      const firstDone = Math.max(...[a, b, c].map((row) => row!.finishedAt!.getTime()))
      expect(d!.startedAt!.getTime()).toBeGreaterThanOrEqual(firstDone)
      expect(e!.startedAt!.getTime()).toBeGreaterThanOrEqual(d!.finishedAt!.getTime())
    }))

  it.scoped("raising or removing a limit lets waiting tasks start at once, not a scan later", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      yield* TaskAdmin.defineQueue({ name: "lane", concurrency: 1 }).pipe(asAdmin(schema))
      yield* startWorker(Work.handler(() => Effect.sleep("1 second")), { schema, poolSize: 4, scanInterval: "30 seconds" })
      // The change is announced by a notification: the worker must be listening for it.
      yield* waitForListener(schema)
      const ids = yield* enqueue(schema, "lane", 3)
      yield* waitForStatus(schema, ids.slice(0, 1), [TaskStatus.running], "5 seconds")
      yield* TaskAdmin.defineQueue({ name: "lane" }).pipe(asAdmin(schema))
      const rows = yield* waitForStatus(schema, ids, [TaskStatus.running, TaskStatus.succeeded], "5 seconds")
      // All three running at once: the first was still running when the others started.
      for (const row of rows.slice(1)) expect(row.startedAt!.getTime()).toBeLessThan(rows[0]!.startedAt!.getTime() + 1000)
      expect(rows[0]!.status).toBe(TaskStatus.running)
    }))

  it.scoped("claims racing on many connections never take more than a queue's cluster-wide limit", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      yield* TaskAdmin.defineQueue({ name: "cluster", concurrency: 3 }).pipe(asAdmin(schema))
      // Racers with different handlers see different candidates, so SKIP LOCKED alone would let
      // them take different rows; many waiting rows make their statements overlap.
      yield* enqueue(schema, "cluster", 10_000)
      yield* Tasks.runMany(Other, Array.from({ length: 10_000 }, (_, n) => ({ n })), { queue: "cluster" }).pipe(
        inSchema(schema)
      )
      const claims = yield* Effect.all(
        Array.from({ length: 12 }, (_, n) =>
          store.claim(claimRequest(`racer-${n}`, [n % 2 === 0 ? Work.key : Other.key], 5))),
        { concurrency: "unbounded" }
      )
      expect(claims.flat().length).toBe(3)
    }))

  it.scoped("claims that take turns on the limit's lock choose among rows nobody took: each comes back full", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      // A cluster-wide limit on another queue makes every claim take the lock.
      yield* TaskAdmin.defineQueue({ name: "elsewhere", concurrency: 3 }).pipe(asAdmin(schema))
      yield* enqueue(schema, "lane", 100)
      const claims = yield* Effect.all(
        Array.from({ length: 12 }, (_, n) => store.claim(claimRequest(`racer-${n}`, [Work.key], 5))),
        { concurrency: "unbounded" }
      )
      expect(claims.map((claimed) => claimed.length)).toEqual(Array.from({ length: 12 }, () => 5))
    }))

  it.scoped("racing claims on a single group, without limits, each come back full", () =>
    Effect.gen(function*() {
      const { schema, store } = yield* migratedSchema
      yield* enqueue(schema, "lane", 300)
      for (let round = 0; round < 10; round++) {
        const claims = yield* Effect.all(
          Array.from({ length: 3 }, (_, n) => store.claim(claimRequest(`racer-${n}`, [Work.key], 10))),
          { concurrency: "unbounded" }
        )
        expect(claims.map((claimed) => claimed.length)).toEqual([10, 10, 10])
      }
    }))

  it.effect("a bad queue definition is a typed error naming the option", () =>
    Effect.gen(function*() {
      const cases = [
        [{ name: "" }, "name"],
        [{ name: "q", concurrency: 0 }, "concurrency"],
        [{ name: "q", concurrencyPerNode: 1.5 }, "concurrencyPerNode"],
        [{ name: "q", maxSize: -1 }, "maxSize"]
      ] as const
      for (const [queue, option] of cases) {
        const error = yield* Effect.flip(TaskAdmin.defineQueue(queue).pipe(asAdmin("never_created")))
        expect(error).toMatchObject({ _tag: "InvalidTaskOptions", option })
      }
    }))
})
