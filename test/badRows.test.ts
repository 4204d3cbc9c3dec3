import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { Task, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { startWorker, waitForStatus } from "./support/worker.js"

const Job = Task.make("job", { args: Schema.Struct({ n: Schema.Number }) })

layer(PgTest, { excludeTestServices: true })("bad rows", (it) => {
  it.scoped("malformed rows fail alone with a recorded reason; the node goes on working", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const tasks = sql(`${schema}.tasks`)
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const worker = yield* startWorker(Job.handler(({ n }) => Ref.update(seen, (all) => [...all, n])), {
        schema,
        scanInterval: "100 millis"
      })
      // Rows the constraints would refuse, as a careless migration or a hand edit could leave them.
      yield* sql`ALTER TABLE ${tasks} ALTER COLUMN max_attempts DROP NOT NULL`
      yield* sql`ALTER TABLE ${tasks} DROP CONSTRAINT tasks_status_check`
      const [nullField, unknownStatus, undecodable] = yield* sql.withTransaction(Effect.gen(function*() {
        const ids = yield* Tasks.runMany(Job, [{ n: 1 }, { n: 2 }, { n: 3 }])
        yield* sql`UPDATE ${tasks} SET max_attempts = NULL WHERE id = ${ids[0]!}::bigint`
        yield* sql`UPDATE ${tasks} SET status = 'weird' WHERE id = ${ids[1]!}::bigint`
        yield* sql`UPDATE ${tasks} SET args = '"not an object"'::jsonb WHERE id = ${ids[2]!}::bigint`
        return ids
      })).pipe(inSchema(schema))
      const good = yield* Tasks.run(Job, { n: 4 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [good, undecodable!], [TaskStatus.succeeded, TaskStatus.failed])
      const rows = yield* sql<{ id: string; status: string; last_error: string | null }>`
        SELECT id::text, status, last_error FROM ${tasks} WHERE id IN (${nullField!}::bigint, ${unknownStatus!}::bigint, ${undecodable!}::bigint) ORDER BY id`
        .withoutTransform
      expect(rows[0]).toMatchObject({ status: "failed" })
      expect(rows[0]?.last_error).toContain("malformed task row")
      expect(rows[0]?.last_error).toContain("maxAttempts")
      expect(rows[1]).toMatchObject({ status: "weird", last_error: null }) // never claimed, never touched
      expect(rows[2]?.status).toBe("failed")
      expect(rows[2]?.last_error).toContain("UndecodableTask")
      expect(yield* Ref.get(seen)).toEqual([4])
      // Still working afterwards.
      const later = yield* Tasks.run(Job, { n: 5 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [later], [TaskStatus.succeeded])
      expect(yield* worker.manager.health).not.toContainEqual(expect.objectContaining({ lastError: expect.objectContaining({ _tag: "Some" }) }))
    }))
})
