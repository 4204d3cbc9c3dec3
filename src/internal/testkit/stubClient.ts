import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Stream } from "effect"
import { Memory } from "./memory.js"

const noDatabase = (statement: string) => {
  const message = `TaskTest has no database, so this statement cannot run: ${
    statement.replace(/\s+/g, " ").trim().slice(0, 120)
  } (provide the services your code reads and writes through as test doubles)`
  return new SqlError({ cause: message, message })
}

/**
 * A connection that accepts transaction control (BEGIN, COMMIT, ROLLBACK, savepoints), telling the
 * memory so that enqueues inside a transaction commit or roll back with it, and fails every other
 * statement with a `SqlError` that says why.
 */
const connection = (memory: Memory): Connection => {
  const self: Connection = {
    execute: (statement) => run(statement),
    executeUnprepared: (statement) => run(statement),
    executeRaw: (statement) => run(statement),
    executeValues: (statement) => run(statement),
    executeStream: (statement) => Stream.fail(noDatabase(statement))
  }
  const run = (statement: string): Effect.Effect<Array<never>, SqlError> =>
    Memory.isControl(statement)
      ? Effect.sync(() => {
        memory.control(self, statement)
        return []
      })
      : Effect.fail(noDatabase(statement))
  return self
}

/**
 * The test kit's `SqlClient`: `sql.withTransaction` works (and decides whether the tasks enqueued
 * inside it exist), every query fails, since there is no database.
 */
export const makeStubClient = (memory: Memory): Effect.Effect<SqlClient.SqlClient> =>
  SqlClient.make({
    acquirer: Effect.sync(() => connection(memory)),
    compiler: PgClient.makeCompiler(),
    spanAttributes: [["db.system", "effect-tasks-test"]]
  }).pipe(Effect.provide(Reactivity.layer))
