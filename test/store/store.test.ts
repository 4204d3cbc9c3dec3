import { SqlClient } from "@effect/sql"
import { layer } from "@effect/vitest"
import { Context, Effect } from "effect"
import { TaskStore } from "../../src/index.js"
import { PgTest } from "../support/database.js"
import { migratedSchema } from "../support/worker.js"
import { taskStoreSuite } from "./TaskStoreSuite.js"

layer(PgTest, { excludeTestServices: true })("the PostgreSQL store (worker protocol)", (it) =>
  taskStoreSuite(
    it,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { schema, store } = yield* migratedSchema
      return { store, context: Context.make(SqlClient.SqlClient, sql).pipe(Context.add(TaskStore.DatabaseSchema, schema)) }
    })
  ))
