import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Random, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { databaseUrl, pgClient, PgTest } from "./support/database.js"
import { spawnTsx } from "./support/process.js"
import { freePort } from "./support/freePort.js"
import { waitFor } from "./support/waitFor.js"

/** Starts an example as its own process against a database of its own, its output captured. */
const startExample = (file: string, url: string) => spawnTsx(file, [], { env: { DATABASE_URL: url }, output: "capture" })

/** A database of its own (the examples use the default schema), dropped when the scope closes; returns its URL. */
const freshDatabase = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const database = `example_${(yield* Random.nextIntBetween(0, 36 ** 6)).toString(36)}`
  yield* Effect.acquireRelease(
    sql`CREATE DATABASE ${sql(database)}`,
    () => sql`DROP DATABASE IF EXISTS ${sql(database)} WITH (FORCE)`.pipe(Effect.orDie)
  )
  const url = new URL(databaseUrl())
  url.pathname = `/${database}`
  return url.toString()
})

/** The `// #region name` … `// #endregion` parts of a source file. */
const regions = (source: string) =>
  Array.from(source.matchAll(/^\/\/ #region (\S+)\n([\s\S]*?)^\/\/ #endregion$/gm), ([, name, code]) => ({
    name,
    code: code!.trimEnd()
  }))

/** The contents of a markdown file's ```ts blocks. */
const tsBlocks = (markdown: string) =>
  Array.from(markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm), ([, code]) => code!.trimEnd())

describe("the README's quick start", () => {
  it("shows every region of examples/quickstart.ts verbatim as one of its code blocks", () => {
    const parts = regions(readFileSync("examples/quickstart.ts", "utf8"))
    expect(parts.map((part) => part.name)).toEqual(["define", "enqueue", "worker", "main"])
    const blocks = tsBlocks(readFileSync("README.md", "utf8"))
    for (const part of parts) expect(blocks, `region ${part.name}`).toContain(part.code)
  })

  it("shows examples/dashboard.ts (from its imports on) verbatim as one of its code blocks", () => {
    const source = readFileSync("examples/dashboard.ts", "utf8")
    expect(tsBlocks(readFileSync("README.md", "utf8"))).toContain(source.slice(source.indexOf("import ")).trimEnd())
  })

  it("shows every region of examples/receipt.test.ts (the test kit) verbatim as one of its code blocks", () => {
    const parts = regions(readFileSync("examples/receipt.test.ts", "utf8"))
    expect(parts.map((part) => part.name)).toEqual(["app", "test"])
    const blocks = tsBlocks(readFileSync("README.md", "utf8"))
    for (const part of parts) expect(blocks, `region ${part.name}`).toContain(part.code)
  })
})

layer(PgTest, { excludeTestServices: true })("examples", (it) => {
  it.scoped("the dashboard example serves the dashboard to the operator's session only, beside the app's own routes", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const port = yield* freePort
      const app = yield* spawnTsx("examples/dashboard.ts", [], {
        env: { DATABASE_URL: url, OPERATOR_TOKEN: "s3cret", PORT: String(port) },
        output: "capture"
      })
      const get = (path: string, cookie?: string) =>
        Effect.tryPromise(() =>
          fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie === undefined ? {} : { cookie } })
            .then(async (response) => ({ status: response.status, text: await response.text() }))
        )
      const own = yield* waitFor("the app to listen", Effect.either(get("/")), (answer) => answer._tag === "Right")
      expect(own._tag === "Right" && own.right.text).toBe("my app")
      const page = yield* get("/ops/tasks/", "operator_session=s3cret")
      expect(page.status).toBe(200)
      expect(page.text).toContain('<base href="./">')
      expect((yield* get("/ops/tasks/", "operator_session=guess")).status).toBe(403)
      expect((yield* get("/ops/tasks/api/overview")).status).toBe(403)
      yield* app.kill("SIGINT")
      expect(yield* app.exited).toBe(0)
    }), { timeout: 60_000 })

  it.scoped("the demo tells its whole story and stops cleanly", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const demo = yield* startExample("examples/demo.ts", url)
      const code = yield* demo.exited.pipe(Effect.timeout("90 seconds"))
      const output = yield* demo.output
      expect(output).toContain("order 2: out of stock, transaction rolled back")
      expect(output).toContain("charge-card   charged")
      expect(output).toContain("interrupted by its 500 ms timeout")
      expect(output).toMatch(/charge-card\s+succeeded\s+3\/5/)
      expect(output).toMatch(/build-report\s+failed\s+1\/1\s+attempt 1\/1: TaskTimeout/)
      expect(output).toContain("stopped gracefully")
      expect(code).toBe(0)
    }), { timeout: 120_000 })

  it.scoped("the observability example traces an order placed over HTTP and answers GET /metrics in the Prometheus text format", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const port = yield* freePort
      const example = yield* spawnTsx("examples/observability.ts", [], {
        env: { DATABASE_URL: url, PORT: String(port) },
        output: "capture"
      })
      yield* waitFor("the example's story", example.output, (text) => text.includes("serving until Ctrl-C"), "60 seconds")
      const response = yield* Effect.promise(() => fetch(`http://localhost:${port}/metrics`))
      expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4")
      const text = yield* Effect.promise(() => response.text())
      const tags = `task_key="send-receipt",queue="default"`
      expect(text).toContain("# TYPE effect_tasks_succeeded_total counter")
      expect(text).toContain(`effect_tasks_enqueued_total{${tags}} 1`)
      expect(text).toContain(`effect_tasks_retried_total{${tags}} 1`)
      expect(text).toContain(`effect_tasks_succeeded_total{${tags}} 1`)
      expect(text).toContain(`effect_tasks_run_ms_count{${tags}} 2`)
      // The console exporter printed the request, the enqueue and both attempts.
      const output = yield* example.output
      for (const span of ["http.server POST", "send default", "process default", "settle default"]) {
        expect(output).toContain(`name: '${span}'`)
      }
      expect(output).toContain("mailing the receipt of order 1 to ada@example.com (request req-1)")
      yield* example.kill("SIGINT")
      expect(yield* example.exited.pipe(Effect.timeout("30 seconds"))).toBe(0)
    }), { timeout: 120_000 })

  it.scoped("the quick start commits an order with its task, sends the receipt, and stops on SIGINT with exit code 0", () =>
    Effect.gen(function*() {
      const url = yield* freshDatabase
      const example = yield* startExample("examples/quickstart.ts", url)
      yield* waitFor("the receipt", example.output, (text) => text.includes("receipt sent for order 1"), "60 seconds")
      yield* example.kill("SIGINT")
      const code = yield* example.exited.pipe(Effect.timeout("30 seconds"))
      const output = yield* example.output
      expect(output).toContain("order 1 placed with task 1")
      expect(code, output).toBe(0)
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ status: string; attempt: number; orders: number }>`
          SELECT status, attempt, (SELECT count(*)::int FROM orders) AS orders FROM effect_tasks.tasks`
      }).pipe(Effect.provide(pgClient({ url: Redacted.make(url), maxConnections: 1 })))
      expect(rows).toEqual([{ status: "succeeded", attempt: 1, orders: 1 }])
    }), { timeout: 120_000 })
})
