/**
 * The test kit, as an application's unit tests use it: no database, the TestClock of it.effect.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, Option, Ref, Schedule, Schema } from "effect"
import { Task, Tasks, TaskTest } from "../src/index.js"
import { RequestId } from "./support/traced.js"

const Order = Schema.Struct({ orderId: Schema.Number })

/** Runs `body` with the test kit and the handler layers built from a fresh Ref of calls. */
const withKit = <A, E>(
  handlers: (calls: Ref.Ref<ReadonlyArray<string>>) => Layer.Layer<never, unknown, any>,
  body: (calls: Ref.Ref<ReadonlyArray<string>>) => Effect.Effect<A, E, any>
) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    return yield* body(calls).pipe(Effect.provide(Layer.provideMerge(handlers(calls), TaskTest.layer)))
  }) as Effect.Effect<A, E>

const record = (calls: Ref.Ref<ReadonlyArray<string>>, call: string) => Ref.update(calls, (all) => [...all, call])

describe("TaskTest", () => {
  it.effect("a definition's propagated context reaches its handler, and the children it enqueues", () => {
    const Parent = Task.make("parent-with-context", { args: Order, context: { reference: RequestId, schema: Schema.String } })
    const Child = Task.make("child-with-context", { args: Order, context: { reference: RequestId, schema: Schema.String } })
    return withKit(
      (calls) =>
        Layer.mergeAll(
          Parent.handler(({ orderId }) =>
            Effect.gen(function*() {
              yield* record(calls, `parent ${orderId} for ${yield* RequestId}`)
              yield* Tasks.run(Child, { orderId }).pipe(Effect.orDie)
            })
          ),
          Child.handler(({ orderId }) => Effect.flatMap(RequestId, (id) => record(calls, `child ${orderId} for ${id}`)))
        ),
      (calls) =>
        Effect.gen(function*() {
          yield* Tasks.run(Parent, { orderId: 1 }).pipe(Effect.provideService(RequestId, "req-7"))
          yield* Tasks.run(Parent, { orderId: 2 })
          yield* TaskTest.drain
          expect(yield* Ref.get(calls)).toEqual(["parent 1 for req-7", "parent 2 for none", "child 1 for req-7", "child 2 for none"])
        })
    )
  })

  it.effect("Tasks.run keeps tasks in memory; drain runs them through their handlers with their arguments", () => {
    const Ship = Task.make("ship", { args: Order })
    return withKit(
      (calls) => Ship.handler(({ orderId }) => record(calls, `ship ${orderId}`)),
      (calls) =>
        Effect.gen(function*() {
          const first = yield* Tasks.run(Ship, { orderId: 1 })
          const many = yield* Tasks.runMany(Ship, [{ orderId: 2 }, { orderId: 3 }])
          expect([first, ...many]).toEqual(["1", "2", "3"])
          const waiting = yield* TaskTest.enqueued(Ship)
          expect(waiting.map((task) => [task.args.orderId, task.status, task.attempt])).toEqual([
            [1, "initialized", 0],
            [2, "initialized", 0],
            [3, "initialized", 0]
          ])
          expect(yield* Ref.get(calls)).toEqual([])
          const ended = yield* TaskTest.drain
          expect(ended.map((task) => [task.args, task.status, task.attempt])).toEqual([
            [{ orderId: 1 }, "succeeded", 1],
            [{ orderId: 2 }, "succeeded", 1],
            [{ orderId: 3 }, "succeeded", 1]
          ])
          expect(yield* Ref.get(calls)).toEqual(["ship 1", "ship 2", "ship 3"])
        })
    )
  })

  it.effect("retry.while decides on the declared errors: a refused one fails the task at its first attempt", () => {
    class Declined extends Schema.TaggedError<Declined>()("Declined", { permanent: Schema.Boolean }) {}
    const Charge = Task.make("charge", {
      args: Order,
      error: Declined,
      retry: { times: 3, schedule: Schedule.spaced("1 second"), while: (error) => !error.permanent }
    })
    return withKit(
      (calls) =>
        Charge.handler(({ orderId }) =>
          Effect.zipRight(record(calls, `charge ${orderId}`), Effect.fail(new Declined({ permanent: orderId === 1 })))),
      (calls) =>
        Effect.gen(function*() {
          yield* Tasks.runMany(Charge, [{ orderId: 1 }, { orderId: 2 }])
          const ended = yield* TaskTest.drain
          expect(ended.map((task) => [task.args, task.status, task.attempt])).toEqual([
            [{ orderId: 1 }, "failed", 1],
            [{ orderId: 2 }, "failed", 4]
          ])
          expect((yield* Ref.get(calls)).filter((call) => call === "charge 1")).toHaveLength(1)
        })
    )
  })

  it.effect("a retried attempt resumes from the checkpoint the failed one stored; progress is recorded", () => {
    const Import = Task.make("import", {
      args: Order,
      checkpoint: Schema.Struct({ rows: Schema.Number }),
      retry: { times: 2, schedule: Schedule.spaced("1 second") }
    })
    return withKit(
      (calls) =>
        Import.handler(() =>
          Effect.gen(function*() {
            const from = Option.match(yield* Import.lastCheckpoint, { onNone: () => 0, onSome: ({ rows }) => rows })
            yield* record(calls, `from ${from}`)
            yield* Import.checkpoint({ rows: from + 100 })
            yield* Task.progress("importing", (from + 100) / 200)
            if (from === 0) return yield* Effect.fail("connection reset")
          })),
      (calls) =>
        Effect.gen(function*() {
          yield* Tasks.run(Import, { orderId: 1 })
          const [ended] = yield* TaskTest.drain
          expect(ended).toMatchObject({ status: "succeeded", attempt: 2, checkpoint: { rows: 200 }, progress: { phase: "importing", fraction: 1 } })
          expect(yield* Ref.get(calls)).toEqual(["from 0", "from 100"])
        })
    )
  })

  it.effect("a succeeded task's result is recorded, encoded with the definition's success Schema", () => {
    const Quote = Task.make("quote", { args: Order, success: Schema.Struct({ cents: Schema.Number }) })
    return withKit(
      () => Quote.handler(({ orderId }) => Effect.succeed({ cents: orderId * 100 })),
      () =>
        Effect.gen(function*() {
          yield* Tasks.run(Quote, { orderId: 3 })
          const [ended] = yield* TaskTest.drain
          expect(ended).toMatchObject({ status: "succeeded", result: { cents: 300 } })
        })
    )
  })

  it.effect("retries follow the task's Schedule on the TestClock: two failures, then a success 1 s + 2 s later", () => {
    const Flaky = Task.make("flaky", { args: Order, retry: { times: 3, schedule: Schedule.exponential("1 second") } })
    return withKit(
      (calls) =>
        Flaky.handler(() =>
          Effect.gen(function*() {
            const attempt = Option.getOrThrow(yield* Task.CurrentTask).attempt
            yield* record(calls, `attempt ${attempt} at ${yield* Clock.currentTimeMillis}`)
            if (attempt < 3) return yield* Effect.fail(`down (${attempt})`)
          })
        ),
      (calls) =>
        Effect.gen(function*() {
          yield* Tasks.run(Flaky, { orderId: 7 })
          yield* TaskTest.drain
          expect(yield* Ref.get(calls)).toEqual(["attempt 1 at 0", "attempt 2 at 1000", "attempt 3 at 3000"])
          const [task] = yield* TaskTest.enqueued(Flaky)
          expect(task).toMatchObject({ status: "succeeded", attempt: 3, maxAttempts: 4 })
          expect(task!.errors).toHaveLength(2)
          expect(task!.errors[1]).toContain("down (2)")
        })
    )
  })

  it.effect("an enqueue inside a transaction exists only if it commits; a rolled-back savepoint drops its own", () => {
    const Ship = Task.make("ship", { args: Order })
    return withKit(
      () => Ship.handler(() => Effect.void),
      () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          yield* sql.withTransaction(Effect.zipRight(Tasks.run(Ship, { orderId: 1 }), Effect.fail("rolled back"))).pipe(
            Effect.ignore
          )
          yield* sql.withTransaction(Effect.gen(function*() {
            yield* Tasks.run(Ship, { orderId: 2 })
            yield* sql.withTransaction(Effect.zipRight(Tasks.run(Ship, { orderId: 3 }), Effect.fail("inner"))).pipe(
              Effect.ignore
            )
            yield* sql.withTransaction(Tasks.run(Ship, { orderId: 4 }))
          }))
          expect((yield* TaskTest.enqueued(Ship)).map((task) => task.args.orderId)).toEqual([2, 4])
          const query = yield* Effect.flip(sql`SELECT 1`)
          expect(query.message).toContain("TaskTest has no database")
        })
    )
  })

  it.effect("a handler past its timeout fails with TaskTimeout, its sleep and the timeout passing on the TestClock", () => {
    const Slow = Task.make("slow", { args: Order, timeout: "1 second" })
    return withKit(
      () => Slow.handler(() => Effect.sleep("1 minute")),
      () =>
        Effect.gen(function*() {
          yield* Tasks.run(Slow, { orderId: 1 })
          const [task] = yield* TaskTest.drain
          expect(task).toMatchObject({ status: "failed", attempt: 1 })
          expect(task!.lastError).toContain("timed out after 1000 ms")
          expect(yield* Clock.currentTimeMillis).toBe(1000)
        })
    )
  })

  it.effect("delayed and snoozed tasks run when due: the drain moves the clock; a snooze is not an attempt", () => {
    const Later = Task.make("later", { args: Order })
    return withKit(
      (calls) =>
        Later.handler(({ orderId }) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            yield* record(calls, `${orderId} at ${now}`)
            if (orderId === 2 && now < 5000) return yield* Task.snooze("5 seconds")
          })
        ),
      (calls) =>
        Effect.gen(function*() {
          yield* Tasks.run(Later, { orderId: 1 }, { delay: "1 hour" })
          yield* Tasks.run(Later, { orderId: 2 })
          yield* TaskTest.drain
          expect(yield* Ref.get(calls)).toEqual(["2 at 0", "2 at 5000", "1 at 3600000"])
          expect((yield* TaskTest.enqueued(Later)).map((task) => [task.status, task.attempt])).toEqual([
            ["succeeded", 1],
            ["succeeded", 1]
          ])
        })
    )
  })

  it.effect("children run after their parent's attempt succeeds, in order; a failed attempt's children are dropped", () => {
    const Parent = Task.make("parent", { args: Order, retry: { times: 1, schedule: Schedule.spaced("1 second") } })
    const Child = Task.make("child", { args: Schema.Struct({ name: Schema.String }) })
    return withKit(
      (calls) =>
        Layer.merge(
          Parent.handler(() =>
            Effect.gen(function*() {
              const attempt = Option.getOrThrow(yield* Task.CurrentTask).attempt
              yield* Tasks.run(Child, { name: `a${attempt}` })
              yield* Tasks.run(Child, { name: `b${attempt}` })
              yield* Tasks.run(Child, { name: `audit${attempt}` }, { independent: true })
              yield* record(calls, `parent ${attempt}`)
              if (attempt === 1) return yield* Effect.fail("first attempt fails")
            })
          ),
          Child.handler(({ name }) => record(calls, name))
        ),
      (calls) =>
        Effect.gen(function*() {
          const parent = yield* Tasks.run(Parent, { orderId: 1 })
          yield* TaskTest.drain
          expect(yield* Ref.get(calls)).toEqual(["parent 1", "audit1", "parent 2", "a2", "b2", "audit2"])
          const children = yield* TaskTest.enqueued(Child)
          expect(children.map((task) => [task.args.name, task.parentId])).toEqual([
            ["audit1", null],
            ["a2", parent],
            ["b2", parent],
            ["audit2", null]
          ])
        })
    )
  })

  it.effect("a unique key held by an unfinished task returns that task; a key without a handler is left waiting", () => {
    const Ship = Task.make("ship", { args: Order })
    const Unhandled = Task.make("unhandled", { args: Order })
    return withKit(
      () => Ship.handler(() => Effect.void),
      () =>
        Effect.gen(function*() {
          const first = yield* Tasks.run(Ship, { orderId: 1 }, { uniqueKey: "order-1" })
          expect(yield* Tasks.run(Ship, { orderId: 1 }, { uniqueKey: "order-1" })).toBe(first)
          yield* Tasks.run(Unhandled, { orderId: 2 })
          const all = yield* TaskTest.drain
          expect(all.map((task) => [task.key, task.status])).toEqual([["ship", "succeeded"], ["unhandled", "initialized"]])
          // Once the holder has ended, the key is free again.
          expect(yield* Tasks.run(Ship, { orderId: 1 }, { uniqueKey: "order-1" })).not.toBe(first)
        })
    )
  })
})
