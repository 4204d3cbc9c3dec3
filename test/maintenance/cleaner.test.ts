import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { makeCleaner } from "../../src/internal/maintenance/cleaner.js"
import { makeLeadership } from "../../src/internal/maintenance/leadership.js"
import { monotonicMillis } from "../../src/internal/monotonic.js"
import { Task, Tasks, TaskStatus } from "../../src/index.js"
import { freshSchema, inSchema, PgTest } from "../support/database.js"
import { migratedSchema, startWorker, waitForStatus } from "../support/worker.js"
import { waitFor } from "../support/waitFor.js"

const Job = Task.make("clean-me", { args: Schema.Struct({ fails: Schema.Boolean }) })

layer(PgTest, { excludeTestServices: true })("cleaner", (it) => {
  it.scoped("a round on the leader deletes the tasks whose retention has passed, oldest first, in bounded batches", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const ids = yield* Tasks.runMany(Job, Array.from({ length: 6 }, () => ({ fails: false }))).pipe(inSchema(schema))
      const tasks = sql(`${schema}.tasks`)
      // [status, expired this long ago (negative: expires later), or null: kept forever]
      const rows: ReadonlyArray<readonly [string, string, string | null]> = [
        [ids[0]!, TaskStatus.succeeded, "1 hour"],
        [ids[1]!, TaskStatus.succeeded, "3 hours"],
        [ids[2]!, TaskStatus.failed, "-1 hour"],
        [ids[3]!, TaskStatus.canceled, "2 hours"],
        [ids[4]!, TaskStatus.succeeded, null],
        [ids[5]!, TaskStatus.paused, null]
      ]
      for (const [id, status, ago] of rows) {
        yield* sql`UPDATE ${tasks} SET status = ${status},
          finished_at = CASE WHEN ${status} = 'paused' THEN NULL ELSE now() - interval '1 day' END,
          expires_at = CASE WHEN ${ago}::text IS NULL THEN NULL ELSE now() - ${ago}::interval END
          WHERE id = ${id}::bigint`
      }
      const leadership = yield* makeLeadership
      const round = makeCleaner({ store, leadership, batchSize: 2, maxBatches: 1 })
      const left = Effect.map(sql<{ id: string }>`SELECT id::text AS id FROM ${tasks} ORDER BY id`, (all) => all.map((row) => row.id))

      expect(yield* round).toBe(0) // not the leader
      yield* leadership.holdUntil((yield* monotonicMillis) + 60_000)
      expect(yield* round).toBe(2) // one batch of two: the longest expired, 3 and 2 hours ago
      expect(yield* left).toEqual([ids[0], ids[2], ids[4], ids[5]])
      expect(yield* round).toBe(1)
      expect(yield* round).toBe(0)
      // Not yet expired, kept forever, unfinished: all still there.
      expect(yield* left).toEqual([ids[2], ids[4], ids[5]])
    }))

  it.scoped("a finished parent whose late children its attempt still holds is kept until they are settled", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const [parent, child] = yield* Tasks.runMany(Job, [{ fails: false }, { fails: false }]).pipe(inSchema(schema))
      const tasks = sql(`${schema}.tasks`)
      yield* sql`UPDATE ${tasks} SET status = 'succeeded', finished_at = now() - interval '2 days', expires_at = now() - interval '1 day'
        WHERE id = ${parent!}::bigint`
      yield* sql`UPDATE ${tasks} SET parent_id = ${parent!}::bigint, held_by = gen_random_uuid() WHERE id = ${child!}::bigint`
      const leadership = yield* makeLeadership
      yield* leadership.holdUntil((yield* monotonicMillis) + 60_000)
      const round = makeCleaner({ store, leadership, batchSize: 10, maxBatches: 1 })
      expect(yield* round).toBe(0)
      yield* sql`UPDATE ${tasks} SET held_by = NULL WHERE id = ${child!}::bigint`
      expect(yield* round).toBe(1)
    }))

  it.scoped("a definition's keep wins over the worker's defaults: forever, or sooner; expiry is fixed when a task ends", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Kept = Task.make("clean-kept", { args: Schema.Struct({}), keep: { succeeded: "forever" } })
      const Brief = Task.make("clean-brief", { args: Schema.Struct({}), keep: { succeeded: "1 millis" } })
      yield* startWorker(Layer.mergeAll(Kept.handler(() => Effect.void), Brief.handler(() => Effect.void), Job.handler(() => Effect.void)), {
        schema,
        checkInterval: "100 millis"
      })
      const kept = yield* Tasks.run(Kept, {}).pipe(inSchema(schema))
      const brief = yield* Tasks.run(Brief, {}).pipe(inSchema(schema))
      const plain = yield* Tasks.run(Job, { fails: false }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [kept, plain], [TaskStatus.succeeded])
      const ids = sql<{ id: string }>`SELECT id::text AS id FROM ${sql(`${schema}.tasks`)} ORDER BY id`
      yield* waitFor("the brief task deleted", ids, (rows) => !rows.some((row) => row.id === brief))
      const expiry = yield* sql<{ id: string; days: number | null }>`
        SELECT id::text AS id, round(extract(epoch FROM expires_at - finished_at) / 86400)::int AS days
        FROM ${sql(`${schema}.tasks`)} ORDER BY id`
      expect(expiry).toEqual([{ id: kept, days: null }, { id: plain, days: 1 }])
    }))

  it.scoped("a running worker's cleaner deletes succeeded tasks after keepSucceeded and keeps failed ones", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* startWorker(Job.handler(({ fails }) => fails ? Effect.fail("no") : Effect.void), {
        schema,
        keepSucceeded: "1 millis",
        keepFailed: "forever",
        checkInterval: "100 millis",
        rescueInterval: "100 millis",
        scanInterval: "200 millis"
      })
      const ids = yield* Tasks.runMany(Job, [{ fails: false }, { fails: true }, { fails: false }]).pipe(inSchema(schema))
      const left = sql<{ id: string; status: string }>`SELECT id::text AS id, status FROM ${sql(`${schema}.tasks`)} ORDER BY id`
      yield* waitFor("the succeeded tasks deleted", left, (rows) => rows.length === 1)
      expect(yield* left).toEqual([{ id: ids[1], status: TaskStatus.failed }])
      yield* waitForStatus(schema, [ids[1]!], [TaskStatus.failed])
    }))
})
