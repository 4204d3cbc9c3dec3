/**
 * A separate process that applies the migrations: `node --import tsx migrateProcess.ts URL SCHEMA`.
 * Prints the schema version it then sees, and exits 0 on success.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { TaskStore } from "../../src/index.js"

const [url, schema] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const store = yield* TaskStore.make({ schema: schema! })
  yield* store.migrate
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ version: number }>`SELECT max(migration_id)::int AS version FROM ${sql(`${schema}.migrations`)}`
  process.stdout.write(`version ${rows[0]?.version}\n`)
})

Effect.runPromise(program.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url!) })))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error}\n`)
    process.exit(1)
  }
)
