import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStore } from "../src/index.js"
import { inSchema, PgTest } from "./support/database.js"
import { migratedSchema } from "./support/worker.js"

const Order = Task.make("find-order", { args: Schema.Struct({ orderId: Schema.Number, region: Schema.String }) })
const Mail = Task.make("find-mail", { args: Schema.Struct({ to: Schema.String }) })

/** Hand-made rows: statuses, finish times, owners, a tree and a unique key, set with plain SQL. */
const seeded = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { schema } = yield* migratedSchema
  const enqueue = inSchema(schema)
  const orders = yield* Tasks.runMany(Order, [
    { orderId: 1, region: "eu" },
    { orderId: 2, region: "us" },
    { orderId: 3, region: "eu" },
    { orderId: 4, region: "eu" }
  ], { owner: "acme" }).pipe(enqueue)
  const mail = yield* Tasks.run(Mail, { to: "a@example.com" }, { queue: "mail", uniqueKey: "welcome-a" }).pipe(enqueue)
  const tasks = sql(`${schema}.tasks`)
  const set = (id: string, status: string, finishedAgo: string | null) =>
    sql`UPDATE ${tasks} SET status = ${status},
      finished_at = CASE WHEN ${finishedAgo}::text IS NULL THEN NULL ELSE now() - ${finishedAgo}::interval END
      WHERE id = ${id}::bigint`
  yield* set(orders[0]!, "succeeded", "2 hours")
  yield* set(orders[1]!, "failed", "10 minutes")
  yield* set(orders[2]!, "canceled", "5 minutes")
  yield* sql`UPDATE ${tasks} SET parent_id = ${orders[0]!}::bigint, root_id = ${orders[0]!}::bigint WHERE id = ${orders[3]!}::bigint`
  yield* sql`UPDATE ${tasks} SET run_at = now() - interval '30 seconds' WHERE id = ${mail}::bigint`
  return { schema, orders, mail, admin: Effect.provide(TaskStore.layer({ schema })) }
})

const ids = (page: TaskAdmin.TaskPage) => page.tasks.map((task) => task.id)

layer(PgTest, { excludeTestServices: true })("finding tasks", (it) => {
  it.scoped("list filters by status, key, queue, owner, tree, unique key, time ranges and argument content", () =>
    Effect.gen(function*() {
      const { admin, mail, orders } = yield* seeded
      const find = (filter: TaskAdmin.Filter) => Effect.map(TaskAdmin.list(filter), ids).pipe(admin)
      expect(yield* find({})).toEqual([mail, ...[...orders].reverse()])
      expect(yield* find({ status: "failed" })).toEqual([orders[1]])
      expect(yield* find({ status: ["failed", "canceled"] })).toEqual([orders[2], orders[1]])
      expect(yield* find({ key: "find-mail" })).toEqual([mail])
      expect(yield* find({ queue: "mail" })).toEqual([mail])
      expect(yield* find({ owner: "acme", status: "initialized" })).toEqual([orders[3]])
      expect(yield* find({ parentId: orders[0]! })).toEqual([orders[3]])
      expect(yield* find({ rootId: orders[0]! })).toEqual([orders[3]])
      expect(yield* find({ uniqueKey: "welcome-a" })).toEqual([mail])
      expect(yield* find({ finishedAfter: new Date(Date.now() - 3_600_000) })).toEqual([orders[2], orders[1]])
      expect(yield* find({ finishedBefore: new Date(Date.now() - 3_600_000) })).toEqual([orders[0]])
      expect(yield* find({ createdAfter: new Date(Date.now() + 60_000) })).toEqual([])
      expect(yield* find({ args: { region: "eu" } })).toEqual([orders[3], orders[2], orders[0]])
      expect(yield* find({ args: { region: "eu" }, status: "canceled" })).toEqual([orders[2]])
      expect(yield* TaskAdmin.count({ args: { region: "eu" } }).pipe(admin)).toBe(3)
      expect(yield* TaskAdmin.count().pipe(admin)).toBe(5)
    }))

  it.scoped("keyset pages: newest or oldest first, stable while tasks are added, None after the last", () =>
    Effect.gen(function*() {
      const { admin, mail, orders, schema } = yield* seeded
      const first = yield* TaskAdmin.list({}, { limit: 2 }).pipe(admin)
      expect(ids(first)).toEqual([mail, orders[3]])
      // Newer tasks arrive between pages: the next page goes on where the first stopped.
      yield* Tasks.runMany(Mail, [{ to: "b@example.com" }, { to: "c@example.com" }]).pipe(inSchema(schema))
      const second = yield* TaskAdmin.list({}, { limit: 2, after: Option.getOrThrow(first.next) }).pipe(admin)
      expect(ids(second)).toEqual([orders[2], orders[1]])
      const last = yield* TaskAdmin.list({}, { limit: 2, after: Option.getOrThrow(second.next) }).pipe(admin)
      expect(ids(last)).toEqual([orders[0]])
      expect(last.next).toEqual(Option.none())
      const oldest = yield* TaskAdmin.list({ key: "find-order" }, { limit: 3, order: "oldest" }).pipe(admin)
      expect(ids(oldest)).toEqual(orders.slice(0, 3))
    }))

  it.scoped("stats per queue: unfinished tasks by status, the oldest wait, and the last hour's ends", () =>
    Effect.gen(function*() {
      const { admin } = yield* seeded
      const stats = yield* TaskAdmin.stats.pipe(admin)
      expect(stats.map(({ oldestWaitingSeconds, ...rest }) => ({ ...rest, waitedLong: oldestWaitingSeconds >= 29 }))).toEqual([
        { queue: "default", waiting: 1, paused: 0, running: 0, succeededLastHour: 0, failedLastHour: 1, canceledLastHour: 1, waitedLong: false },
        { queue: "mail", waiting: 1, paused: 0, running: 0, succeededLastHour: 0, failedLastHour: 0, canceledLastHour: 0, waitedLong: true }
      ])
    }))

  it.scoped("a bad filter or page is a typed error naming the field", () =>
    Effect.gen(function*() {
      const { admin } = yield* seeded
      const error = (effect: Effect.Effect<unknown, { readonly _tag: string }, TaskStore.TaskStore>) =>
        Effect.map(effect.pipe(admin, Effect.flip), (failure) => failure)
      expect(yield* error(TaskAdmin.list({ status: "done" as never }))).toMatchObject({ _tag: "InvalidTaskOptions", option: "status" })
      expect(yield* error(TaskAdmin.list({ parentId: "x" }))).toMatchObject({ _tag: "InvalidTaskOptions", option: "parentId" })
      expect(yield* error(TaskAdmin.list({}, { limit: 5000 }))).toMatchObject({ _tag: "InvalidTaskOptions", option: "limit" })
      expect(yield* error(TaskAdmin.list({}, { after: "-1" }))).toMatchObject({ _tag: "InvalidTaskOptions", option: "after" })
      expect(yield* error(TaskAdmin.count({ args: { bad: "\u0000" } }))).toMatchObject({ _tag: "InvalidTaskOptions", option: "args" })
    }))
})
