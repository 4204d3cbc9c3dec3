import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Task, Tasks, TaskStatus } from "../src/index.js"
import { freshSchema, inSchema, PgTest } from "./support/database.js"
import { startWorker, waitForStatus } from "./support/worker.js"

layer(PgTest, { excludeTestServices: true })("transactional handlers", (it) => {
  it.scoped("a handler that writes and then fails leaves neither its row nor a success", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })
      const shipments = sql(`${schema}.shipments`)
      const live = Ship.handler(({ order }) =>
        Effect.zipRight(sql`INSERT INTO ${shipments} (order_id) VALUES (${order})`, Effect.fail("carrier refused"))
      )
      yield* startWorker(live, { schema, scanInterval: "100 millis" })
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 1 }).pipe(inSchema(schema))
      const [row] = yield* waitForStatus(schema, [id], [TaskStatus.failed])
      expect(row?.lastError).toContain("carrier refused")
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${shipments}`
      expect(rows[0]?.n).toBe(0)
    }))

  it.scoped("one that succeeds commits its row and its success together, once", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const Ship = Task.make("ship", { args: Schema.Struct({ order: Schema.Number }), transactional: true })
      const shipments = sql(`${schema}.shipments`)
      yield* startWorker(Ship.handler(({ order }) => sql`INSERT INTO ${shipments} (order_id) VALUES (${order})`), {
        schema,
        scanInterval: "100 millis"
      })
      yield* sql`CREATE TABLE ${shipments} (order_id int PRIMARY KEY)`
      const id = yield* Tasks.run(Ship, { order: 2 }).pipe(inSchema(schema))
      yield* waitForStatus(schema, [id], [TaskStatus.succeeded])
      // Written by the same transaction: a kill after its commit cannot separate them, nor run it again.
      const [same] = yield* sql<{ shipment: string; task: string; n: number }>`
        SELECT (SELECT xmin::text FROM ${shipments} WHERE order_id = 2) AS shipment,
               (SELECT xmin::text FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint) AS task,
               (SELECT count(*)::int FROM ${shipments}) AS n`
      expect(same?.n).toBe(1)
      expect(same?.shipment).toBe(same?.task)
    }))
})
