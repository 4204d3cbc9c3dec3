import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFile } from "node:child_process"
import { TaskError, TaskManager, TaskStore } from "../../src/index.js"
import { databaseUrl, freshSchema, PgTest } from "../support/database.js"

const migrateInProcess = (schema: string) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "test/support/migrateProcess.ts", databaseUrl(), schema],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    )
  })

layer(PgTest, { excludeTestServices: true })("migrations", (it) => {
  it.scoped("two processes applying migrations at once both start correctly", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      for (let round = 0; round < 3; round++) {
        const schema = yield* freshSchema
        const results = yield* Effect.all([migrateInProcess(schema), migrateInProcess(schema)], {
          concurrency: "unbounded"
        })
        for (const result of results) {
          expect(result.stderr).toBe("")
          expect(result.code).toBe(0)
          expect(result.stdout.trim()).toBe(`version ${TaskStore.latestVersion}`)
        }
        const applied = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.migrations`)}`
        expect(applied[0]?.n).toBe(TaskStore.latestVersion)
      }
    }), { timeout: 120_000 })

  it.scoped("migrating twice is a no-op", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const store = yield* TaskStore.make({ schema })
      yield* store.migrate
      yield* store.migrate
      const sql = yield* SqlClient.SqlClient
      const applied = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.migrations`)}`
      expect(applied[0]?.n).toBe(TaskStore.latestVersion)
    }))

  it.scoped("a process refuses to start against a newer schema version than it knows", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      const store = yield* TaskStore.make({ schema })
      yield* store.migrate
      yield* sql`INSERT INTO ${sql(`${schema}.migrations`)} (migration_id, name) VALUES (999, 'from_the_future')`
      const error = yield* Effect.flip(store.migrate)
      expect(error).toBeInstanceOf(TaskError.IncompatibleSchema)
      expect(error.message).toContain(`version 999`)
      const managerError = yield* Layer.build(TaskManager.layer({ schema })).pipe(Effect.flip)
      expect(managerError._tag).toBe("IncompatibleSchema")
    }))

  it.scoped("a schema name that is not a plain identifier is refused before any SQL runs", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(TaskStore.make({ schema: `bad"; DROP TABLE x; --` }))
      expect(error).toBeInstanceOf(TaskError.InvalidTaskOptions)
      const managerError = yield* Layer.build(TaskManager.layer({ schema: "Bad-Name", poolSize: 0 })).pipe(Effect.flip)
      expect(managerError._tag).toBe("InvalidTaskOptions")
      const poolError = yield* Effect.flip(TaskManager.resolveOptions({ poolSize: 0 }))
      expect(poolError.message).toContain("poolSize")
    }))
})
