import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Ref, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, pgClient, PgTest } from "./support/database.js"
import { asAdmin, migratedSchema, startWorker, storeOf, waitForListener, waitForLockWait, waitForStatus } from "./support/worker.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("scheduling", (it) => {
  it.scoped("a delayed task starts not before its due time, and promptly after it", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* startWorker(Job.handler(() => Effect.void), { schema, scanInterval: "30 seconds" })
      yield* waitForListener(schema)
      const delayed = yield* Tasks.run(Job, { n: 1 }, { delay: "700 millis" }).pipe(inSchema(schema))
      const at = new Date(Date.now() + 900)
      const scheduled = yield* Tasks.run(Job, { n: 2 }, { runAt: at }).pipe(inSchema(schema))
      const rows = yield* waitForStatus(schema, [delayed, scheduled], [TaskStatus.succeeded], "5 seconds")
      for (const row of rows) {
        const late = row.startedAt!.getTime() - row.runAt.getTime()
        expect(late).toBeGreaterThanOrEqual(0)
        expect(late).toBeLessThan(1000) // far below the 30 s scan: the claimer woke for the due time
        expect(row.runAt.getTime() - row.createdAt.getTime()).toBeGreaterThanOrEqual(row.id === delayed ? 690 : 0)
      }
      expect(rows[1]!.runAt.getTime()).toBe(at.getTime())
    }))

  it.scoped("higher priority runs first", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const order = yield* Ref.make<ReadonlyArray<number>>([])
      const ids = yield* sql.withTransaction(Effect.forEach([0, 5, 1, 10, 5], (priority, n) =>
        Tasks.run(Job, { n }, { priority }))).pipe(inSchema(schema))
      yield* startWorker(Job.handler(({ n }) => Ref.update(order, (all) => [...all, n])), {
        schema,
        poolSize: 1,
        scanInterval: "100 millis"
      })
      yield* waitForStatus(schema, ids, [TaskStatus.succeeded])
      // priorities 10, 5 (first enqueued first), 5, 1, 0
      expect(yield* Ref.get(order)).toEqual([3, 1, 4, 2, 0])
    }))

  // poolSize 1 is the hard case: every claim takes a single task, so only the memory of recent
  // starts keeps the owner whose tasks were enqueued first from winning every claim.
  for (const poolSize of [1, 4]) {
    it.scoped(`fairness: an owner with 10 tasks finishes early behind one with 10,000 (poolSize ${poolSize})`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const schema = yield* freshSchema
        yield* (yield* storeOf(schema)).migrate
        const big = yield* Tasks.runMany(Job, Array.from({ length: 10_000 }, (_, n) => ({ n })), { owner: "big" }).pipe(
          inSchema(schema)
        )
        const small = yield* Tasks.runMany(Job, Array.from({ length: 10 }, (_, n) => ({ n })), { owner: "small" }).pipe(
          inSchema(schema)
        )
        yield* startWorker(Job.handler(() => Effect.sleep("2 millis")), { schema, poolSize, scanInterval: "200 millis" })
        yield* waitForStatus(schema, small, [TaskStatus.succeeded])
        // Counted at the moment the last small task finished (by the rows' own finish times), not
        // when this test noticed: the big owner's work goes on meanwhile.
        const tasks = sql(`${schema}.tasks`)
        const [done] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM ${tasks} WHERE owner = 'big' AND status = 'succeeded'
            AND finished_at <= (SELECT max(finished_at) FROM ${tasks} WHERE owner = 'small')`
        yield* Effect.log(`when the small owner's 10 tasks were done, the big owner's done: ${done?.n} of ${big.length}`)
        expect(done?.n).toBeLessThanOrEqual(30)
      }), { timeout: 60_000 })
  }

  it.scoped("a unique key yields one task: again, within a transaction, and from two concurrent transactions", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      const once = (n: number) => Tasks.run(Job, { n }, { uniqueKey: "receipt-42" }).pipe(inSchema(schema))
      const first = yield* once(1)
      expect(yield* once(2)).toBe(first)
      expect(yield* sql.withTransaction(Effect.zipRight(once(3), once(4)))).toBe(first)

      // Two transactions on two connections: the second waits on the unique index, then sees the first.
      const other = yield* Layer.build(pgClient({ maxConnections: 2 }))
      const otherSql = yield* Effect.provide(SqlClient.SqlClient, other)
      const inserted = yield* Deferred.make<string>()
      const commit = yield* Deferred.make<void>()
      const racer = Effect.gen(function*() {
        const id = yield* Tasks.run(Job, { n: 5 }, { uniqueKey: "race" })
        yield* Deferred.succeed(inserted, id)
        yield* Deferred.await(commit)
        return id
      })
      const a = yield* Effect.fork(otherSql.withTransaction(racer).pipe(inSchema(schema), Effect.provide(other)))
      const aId = yield* Deferred.await(inserted)
      const b = yield* Effect.fork(sql.withTransaction(Tasks.run(Job, { n: 6 }, { uniqueKey: "race" })).pipe(inSchema(schema)))
      yield* waitForLockWait(schema) // b is now waiting on a's uncommitted key
      yield* Deferred.succeed(commit, undefined)
      expect(yield* Fiber.join(a)).toBe(aId)
      expect(yield* Fiber.join(b)).toBe(aId)
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.tasks`)} WHERE unique_key = 'race'`
      expect(rows[0]?.n).toBe(1)

      // Keys are per task key: another task type may use the same one.
      const Other = Task.make("other", { args: Schema.Struct({}) })
      const other_ = yield* Tasks.run(Other, {}, { uniqueKey: "receipt-42" }).pipe(inSchema(schema))
      expect(other_).not.toBe(first)

      // Once the holder has ended, the key is free again.
      yield* startWorker(Job.handler(() => Effect.void), { schema, scanInterval: "100 millis" })
      yield* waitForStatus(schema, [first], [TaskStatus.succeeded])
      const next = yield* once(7)
      expect(next).not.toBe(first)
    }))

  it.scoped("a handler that snoozes runs again later, without a failed attempt", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const starts = yield* Ref.make<ReadonlyArray<number>>([])
      const finalized = yield* Ref.make(0)
      const live = Job.handler(() =>
        Effect.gen(function*() {
          const previous = yield* Ref.getAndUpdate(starts, (all) => [...all, Date.now()])
          // Not in the error channel: a handler that recovers from every failure still snoozes,
          // and its finalizers run.
          if (previous.length === 0) {
            return yield* Task.snooze("400 millis").pipe(
              Effect.catchAll(() => Effect.void),
              Effect.ensuring(Ref.update(finalized, (n) => n + 1))
            )
          }
        })
      )
      yield* startWorker(live, { schema, scanInterval: "30 seconds" })
      yield* waitForListener(schema)
      const id = yield* Tasks.run(Job, { n: 1 }).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.succeeded], "5 seconds")
      expect(row).toMatchObject({ attempt: 1, lastError: null })
      const [first, second] = yield* Ref.get(starts)
      expect(second! - first!).toBeGreaterThanOrEqual(390)
      expect(second! - first!).toBeLessThan(1500)
      expect(yield* Ref.get(finalized)).toBe(1)
      // Outside a handler there is no attempt to end.
      const outside = yield* Effect.exit(Task.snooze("1 second"))
      expect(Exit.isFailure(outside) && Cause.isDie(outside.cause)).toBe(true)
    }))

  it.scoped("a full queue refuses with QueueFull inside the caller's transaction, which rolls back cleanly", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      yield* TaskAdmin.defineQueue({ name: "limited", maxSize: 2 }).pipe(asAdmin(schema))
      yield* sql`CREATE TABLE ${sql(`${schema}.orders`)} (id int PRIMARY KEY)`
      const enqueue = (n: number) => Tasks.run(Job, { n }, { queue: "limited" }).pipe(inSchema(schema))
      yield* enqueue(1)
      const full = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO ${sql(`${schema}.orders`)} (id) VALUES (1)`
        yield* enqueue(2)
        yield* enqueue(3) // the third would exceed 2
      })).pipe(Effect.flip)
      expect(full).toMatchObject({ _tag: "QueueFull", queue: "limited", limit: 2 })
      expect(full.message).toContain(`queue "limited" is full`)
      const counts = yield* sql<{ orders: number; tasks: number }>`
        SELECT (SELECT count(*)::int FROM ${sql(`${schema}.orders`)}) AS orders,
               (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)}) AS tasks`
      expect(counts[0]).toEqual({ orders: 0, tasks: 1 })
      const batch = yield* Effect.flip(Tasks.runMany(Job, [{ n: 4 }, { n: 5 }], { queue: "limited" }).pipe(inSchema(schema)))
      expect(batch._tag).toBe("QueueFull")

      // Two producers racing for the last slot: one gets it, the other is refused.
      const other = yield* Layer.build(pgClient({ maxConnections: 2 }))
      const otherSql = yield* Effect.provide(SqlClient.SqlClient, other)
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const a = yield* Effect.fork(otherSql.withTransaction(Effect.gen(function*() {
        yield* Tasks.run(Job, { n: 6 }, { queue: "limited" })
        yield* Deferred.succeed(holding, undefined)
        yield* Deferred.await(release)
      })).pipe(inSchema(schema), Effect.provide(other)))
      yield* Deferred.await(holding)
      const b = yield* Effect.fork(sql.withTransaction(enqueue(7)).pipe(Effect.either))
      yield* waitForLockWait(schema) // b waits on the queue's row
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(a)
      const raced = yield* Fiber.join(b)
      expect(raced._tag === "Left" && raced.left._tag).toBe("QueueFull")

      // A duplicate of a task the full queue holds adds nothing: it returns the holder, not QueueFull.
      yield* TaskAdmin.defineQueue({ name: "limited", maxSize: 3 }).pipe(asAdmin(schema))
      const keyed = yield* Tasks.run(Job, { n: 8 }, { queue: "limited", uniqueKey: "only-one" }).pipe(inSchema(schema))
      expect(yield* Tasks.run(Job, { n: 9 }, { queue: "limited", uniqueKey: "only-one" }).pipe(inSchema(schema))).toBe(keyed)
    }))

  it.effect("bad per-enqueue options are typed errors naming the option, and write nothing", () =>
    Effect.gen(function*() {
      const cases = [
        [{ delay: "soon" as never }, "delay"],
        [{ priority: 1.5 }, "priority"],
        [{ uniqueKey: "" }, "uniqueKey"],
        [{ queue: " " }, "queue"],
        [{ runAt: new Date(Number.NaN) }, "runAt"]
      ] as const
      for (const [options, option] of cases) {
        const error = yield* Effect.flip(Tasks.run(Job, { n: 1 }, options))
        expect(error).toMatchObject({ _tag: "InvalidTaskOptions", option })
      }
    }))
})
