import { SqlClient } from "@effect/sql"
import { describe, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TaskStore, TaskTest } from "../../src/index.js"
import { PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"
import { enqueueSuite, type Stored } from "./EnqueueSuite.js"

layer(PgTest, { excludeTestServices: true })("the PostgreSQL store behind Tasks.run", (it) =>
  enqueueSuite(
    it,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema } = yield* migratedSchema
      const context = Context.make(SqlClient.SqlClient, sql).pipe(Context.add(TaskStore.DatabaseSchema, schema))
      const stored = sql<Stored>`
        SELECT id::text AS id, key, status, args, unique_key AS "uniqueKey"
        FROM ${sql(`${schema}.tasks`)} ORDER BY id`.withoutTransform.pipe(Effect.orDie)
      return { context, stored }
    })
  ))

describe("the test kit's memory behind Tasks.run", () =>
  enqueueSuite(
    it,
    Effect.gen(function*() {
      const context = yield* Layer.build(TaskTest.layer)
      const stored = Effect.map(
        Effect.provide(TaskTest.tasks, context),
        (tasks) => tasks.map(({ args, id, key, status, uniqueKey }): Stored => ({ id, key, status, args, uniqueKey }))
      )
      return { context, stored }
    })
  ))
