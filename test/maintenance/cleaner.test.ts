import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import { makeCleaner } from "../../src/internal/maintenance/cleaner.js"
import { makeLeadership } from "../../src/internal/maintenance/leadership.js"
import { monotonicMillis } from "../../src/internal/monotonic.js"
import { Task, Tasks, TaskStatus } from "../../src/index.js"
import { freshSchema, inSchema, PgTest } from "../support/database.js"
import { migratedSchema, startWorker, waitForStatus } from "../support/worker.js"
import { waitFor } from "../support/waitFor.js"

const Job = Task.make("clean-me", { args: Schema.Struct({ fails: Schema.Boolean }) })

layer(PgTest, { excludeTestServices: true })("cleaner", (it) => {
  it.scoped("a round on the leader deletes finished tasks past their retention by status, oldest first, in bounded batches", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const ids = yield* Tasks.runMany(Job, Array.from({ length: 7 }, () => ({ fails: false }))).pipe(inSchema(schema))
      const tasks = sql(`${schema}.tasks`)
      // [status, finished this long ago]: past retention are the 3-day and 2-day succeeded and the 8-day failed.
      const rows: ReadonlyArray<readonly [string, string, string | null]> = [
        [ids[0]!, TaskStatus.succeeded, "2 days"],
        [ids[1]!, TaskStatus.succeeded, "3 days"],
        [ids[2]!, TaskStatus.succeeded, "12 hours"],
        [ids[3]!, TaskStatus.failed, "8 days"],
        [ids[4]!, TaskStatus.failed, "6 days"],
        [ids[5]!, TaskStatus.paused, null],
        [ids[6]!, TaskStatus.initialized, null]
      ]
      for (const [id, status, ago] of rows) {
        yield* sql`UPDATE ${tasks} SET status = ${status},
          finished_at = CASE WHEN ${ago}::text IS NULL THEN NULL ELSE now() - ${ago}::interval END
          WHERE id = ${id}::bigint`
      }
      const leadership = yield* makeLeadership
      const round = makeCleaner({
        store,
        leadership,
        retention: { succeeded: Duration.days(1), failed: Duration.days(7) },
        batchSize: 2,
        maxBatches: 1
      })
      const left = Effect.map(sql<{ id: string }>`SELECT id::text AS id FROM ${tasks} ORDER BY id`, (all) => all.map((row) => row.id))

      expect(yield* round).toBe(0) // not the leader
      yield* leadership.holdUntil((yield* monotonicMillis) + 60_000)
      expect(yield* round).toBe(2) // one batch of two: the oldest, 8 and 3 days
      expect(yield* left).toEqual([ids[0], ids[2], ids[4], ids[5], ids[6]])
      expect(yield* round).toBe(1)
      expect(yield* round).toBe(0)
      expect(yield* left).toEqual([ids[2], ids[4], ids[5], ids[6]])
      // Kept forever: nothing of that status goes.
      yield* sql`UPDATE ${tasks} SET finished_at = now() - interval '1 year' WHERE id = ${ids[2]!}::bigint`
      const keepSucceeded = makeCleaner({
        store,
        leadership,
        retention: { succeeded: Duration.infinity, failed: Duration.days(7) },
        batchSize: 10,
        maxBatches: 10
      })
      expect(yield* keepSucceeded).toBe(0)
      expect(yield* left).toEqual([ids[2], ids[4], ids[5], ids[6]])
    }))

  it.scoped("a finished parent whose late children its attempt still holds is kept until they are settled", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      const [parent, child] = yield* Tasks.runMany(Job, [{ fails: false }, { fails: false }]).pipe(inSchema(schema))
      const tasks = sql(`${schema}.tasks`)
      yield* sql`UPDATE ${tasks} SET status = 'succeeded', finished_at = now() - interval '2 days' WHERE id = ${parent!}::bigint`
      yield* sql`UPDATE ${tasks} SET parent_id = ${parent!}::bigint, held_by = gen_random_uuid() WHERE id = ${child!}::bigint`
      const leadership = yield* makeLeadership
      yield* leadership.holdUntil((yield* monotonicMillis) + 60_000)
      const round = makeCleaner({ store, leadership, retention: { succeeded: Duration.days(1), failed: Duration.days(7) }, batchSize: 10, maxBatches: 1 })
      expect(yield* round).toBe(0)
      yield* sql`UPDATE ${tasks} SET held_by = NULL WHERE id = ${child!}::bigint`
      expect(yield* round).toBe(1)
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
