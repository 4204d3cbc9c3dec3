import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Random } from "effect"
import { execFile } from "node:child_process"
import { databaseUrl, PgTest } from "./support/database.js"

/** Runs an example as its own process against a database of its own; returns its output. */
const runExample = (file: string, url: string) =>
  Effect.async<{ readonly code: number; readonly output: string }>((resume) => {
    execFile(
      process.execPath,
      ["--import", "tsx", file],
      { timeout: 90_000, env: { ...process.env, DATABASE_URL: url } },
      (error, stdout, stderr) =>
        resume(Effect.succeed({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
          output: stdout + stderr
        }))
    )
  })

layer(PgTest, { excludeTestServices: true })("examples", (it) => {
  it.scoped("the demo tells its whole story and stops cleanly", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const database = `demo_${(yield* Random.nextIntBetween(0, 36 ** 6)).toString(36)}`
      yield* Effect.acquireRelease(
        sql`CREATE DATABASE ${sql(database)}`,
        () => sql`DROP DATABASE IF EXISTS ${sql(database)} WITH (FORCE)`.pipe(Effect.orDie)
      )
      const url = new URL(databaseUrl())
      url.pathname = `/${database}`
      const { code, output } = yield* runExample("examples/demo.ts", url.toString())
      expect(output).toContain("order 2: out of stock, transaction rolled back")
      expect(output).toContain("charge-card   charged")
      expect(output).toContain("interrupted by its 500 ms timeout")
      expect(output).toMatch(/charge-card\s+succeeded\s+3\/5/)
      expect(output).toMatch(/build-report\s+failed\s+1\/1\s+attempt 1\/1: TaskTimeout/)
      expect(output).toContain("stopped gracefully")
      expect(code).toBe(0)
    }), { timeout: 120_000 })
})
