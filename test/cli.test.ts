/**
 * The `effect-tasks` command line against a real database: what each command prints (tables and
 * JSON) and the exit codes scripts rely on. Commands run in-process (`TaskCli.run`) with their
 * console captured; the executable itself runs as a process once.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Console, Effect, Schema } from "effect"
import { Task, TaskAdmin, Tasks, TaskStatus, TaskStore } from "../src/index.js"
import * as TaskCli from "../src/TaskCli.js"
import { get as httpGet } from "node:http"
import { databaseUrl, freshSchema, inSchema, PgTest } from "./support/database.js"
import { freePort } from "./support/freePort.js"
import { waitFor } from "./support/waitFor.js"
import { spawnTsx } from "./support/process.js"
import { startWorker, waitForStatus } from "./support/worker.js"
import { Receipt } from "./support/cliDefinitions.js"

const Fails = Task.make("cli-fails", {
  args: Schema.Struct({ n: Schema.Number }),
  retry: { times: 0 }
})

/** Runs `effect-tasks <args>` in-process on `schema`; its exit code and what it printed. */
const cli = (schema: string, ...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const err: Array<string> = []
    const capture = (lines: Array<string>) => (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(parts.map(String).join(" ")))
    const base = yield* Effect.console
    const console: Console.Console = {
      ...base,
      log: capture(out),
      info: capture(out),
      error: capture(err),
      warn: capture(err),
      unsafe: { ...base.unsafe, log: (...parts) => void out.push(parts.join(" ")), error: (...parts) => void err.push(parts.join(" ")) }
    }
    // The test database, whether or not DATABASE_URL is set (an embedded server when it is not).
    const withSchema = args[0] === "--help" || args.includes("--url") ? args : [...args, "--schema", schema, "--url", databaseUrl()]
    const code = yield* TaskCli.run(["node", "effect-tasks", ...withSchema]).pipe(Effect.withConsole(console), Effect.provide(NodeContext.layer))
    return { code, out: out.join("\n"), err: err.join("\n") }
  })

const json = <A = any>(printed: { readonly out: string }): A => JSON.parse(printed.out)

layer(PgTest, { excludeTestServices: true })("effect-tasks command line", (it) => {
  it.scoped("migrate: --status and --dry-run tell, migrate applies, once", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      const before = yield* cli(schema, "migrate", "--status", "--json")
      expect(before.code).toBe(0)
      expect(json(before)).toMatchObject({ schema, version: 0, latest: TaskStore.latestVersion })
      expect(json(before).pending).toHaveLength(TaskStore.latestVersion)
      const dry = yield* cli(schema, "migrate", "--dry-run")
      expect(dry.out).toContain("would apply: 0001_create_tasks")
      expect(dry.code).toBe(0)
      // Still not migrated: commands that read tasks say so, with an error code.
      const unmigrated = yield* cli(schema, "status")
      expect(unmigrated.code).toBe(TaskCli.ExitCode.error)
      expect(unmigrated.err).toContain("effect-tasks migrate")
      const applied = yield* cli(schema, "migrate")
      expect(applied).toMatchObject({ code: 0 })
      expect(applied.out).toContain(`version ${TaskStore.latestVersion}`)
      const again = yield* cli(schema, "migrate", "--status")
      expect(again.out).toContain("up to date")
      // A schema newer than this code: refused, whatever the options.
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO ${sql(`${schema}.migrations`)} (migration_id, name) VALUES (${TaskStore.latestVersion + 1}, 'from the future')`
      const newer = yield* cli(schema, "migrate", "--status")
      expect(newer.code).toBe(TaskCli.ExitCode.refused)
      expect(newer.err).toContain("newer")
    }))

  it.scoped("status, list, show and explain print what the database holds; changes by id and by filter, guarded and confirmed", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      expect((yield* cli(schema, "migrate")).code).toBe(0)
      const waiting = yield* Tasks.runMany(Receipt, [{ orderId: 1 }, { orderId: 2 }, { orderId: 3 }]).pipe(inSchema(schema))
      const later = yield* Tasks.run(Receipt, { orderId: 4 }, { queue: "later", runAt: new Date(Date.now() + 3_600_000) }).pipe(inSchema(schema))
      const failed = yield* Tasks.run(Fails, { n: 1 }).pipe(inSchema(schema))
      const worker = yield* startWorker(Fails.handler(() => Effect.fail(new Error("the carrier refused the parcel"))), { schema, nodeId: "cli-node" })
      yield* waitForStatus(schema, [failed], [TaskStatus.failed])

      // status: per queue and state, and the node that ran it (live, leading).
      const status = yield* cli(schema, "status")
      expect(status.code).toBe(0)
      expect(status.out).toMatch(/^default\s+3\s+0\s+0\s/m)
      expect(status.out).toMatch(/^later\s+1\s+0\s+0\s/m)
      expect(status.out).toMatch(/^cli-node\s+\S+\s+\d+\s+live\s/m)
      const statusJson = json(yield* cli(schema, "status", "--json"))
      expect(statusJson.queues.find((q: any) => q.queue === "default")).toMatchObject({ waiting: 3, failedLastHour: 1 })
      expect(statusJson.nodes).toEqual([expect.objectContaining({ id: "cli-node", isLive: true, running: 0 })])
      yield* worker.stop

      // list: filters narrow, pages follow the cursor.
      const all = json(yield* cli(schema, "list", "--json"))
      expect(all.tasks.map((t: any) => t.id)).toEqual([failed, later, ...[...waiting].reverse()])
      expect(json(yield* cli(schema, "list", "--status", "failed", "--json")).tasks.map((t: any) => t.id)).toEqual([failed])
      expect(json(yield* cli(schema, "list", "--queue", "later", "--json")).tasks.map((t: any) => t.id)).toEqual([later])
      expect(json(yield* cli(schema, "list", "--key", Receipt.key, "--args", '{"orderId":2}', "--json")).tasks.map((t: any) => t.id))
        .toEqual([waiting[1]])
      const page = yield* cli(schema, "list", "--limit", "2", "--oldest")
      expect(page.out).toContain(`next page: --after ${waiting[1]}`)
      const next = json(yield* cli(schema, "list", "--limit", "2", "--oldest", "--after", waiting[1]!, "--json"))
      expect(next.tasks.map((t: any) => t.id)).toEqual([waiting[2], later])
      expect((yield* cli(schema, "list", "--args", "{not json")).code).toBe(TaskCli.ExitCode.usage)
      expect((yield* cli(schema, "list", "--status", "lost")).code).toBe(TaskCli.ExitCode.usage)

      // show and explain: the failed task's error; a missing task; a bad id.
      const shown = yield* cli(schema, "show", failed)
      expect(shown.code).toBe(0)
      expect(shown.out).toMatch(/^status\s+failed$/m)
      expect(shown.out).toContain("the carrier refused the parcel")
      expect(shown.out).toMatch(/^failed attempts:\nATTEMPT\s+AT\s+ERROR\n1\s+\S+\s+attempt 1\/1: .*the carrier refused the parcel/m)
      expect(json(yield* cli(schema, "show", later, "--json")).explanation.reasons[0]._tag).toBe("NotDue")
      expect((yield* cli(schema, "explain", later)).out).toContain(`${later} initialized:`)
      expect((yield* cli(schema, "show", "999999")).code).toBe(TaskCli.ExitCode.notFound)
      expect((yield* cli(schema, "show", "not-an-id")).code).toBe(TaskCli.ExitCode.usage)

      // Changes by filter ask first: without --yes (no terminal here) nothing changes.
      const unconfirmed = yield* cli(schema, "cancel", "--queue", "default")
      expect(unconfirmed.code).toBe(TaskCli.ExitCode.notConfirmed)
      expect(unconfirmed.err).toContain("the 3 task(s) the filter matches")
      expect(yield* TaskAdmin.count({ status: "initialized" }).pipe(Effect.provide(TaskStore.layer({ schema })))).toBe(4)
      const canceled = yield* cli(schema, "cancel", "--queue", "default", "--yes", "--json")
      expect(canceled.code).toBe(0)
      expect([...json(canceled).changed].sort()).toEqual([...waiting].sort())
      // By id: a finished task is refused, and nothing else changes.
      const refused = yield* cli(schema, "cancel", failed)
      expect(refused.code).toBe(TaskCli.ExitCode.refused)
      expect(refused.err).toContain(`task ${failed} is failed`)
      expect((yield* cli(schema, "cancel", failed, "--status", "failed")).code).toBe(TaskCli.ExitCode.usage)
      expect((yield* cli(schema, "cancel")).code).toBe(TaskCli.ExitCode.usage)
      // rerun, pause/resume by queue, move, delete.
      expect(json(yield* cli(schema, "rerun", "--status", "failed", "--yes", "--json")).changed).toEqual([failed])
      expect(json(yield* cli(schema, "pause", "--queue", "later", "--yes", "--json")).changed).toEqual([later])
      expect(json(yield* cli(schema, "resume", "--queue", "later", "--yes", "--json")).changed).toEqual([later])
      expect(json(yield* cli(schema, "move", later, "--to-queue", "sooner", "--to-priority", "5", "--json")).changed).toEqual([later])
      expect((yield* cli(schema, "move", later)).code).toBe(TaskCli.ExitCode.usage)
      const [moved] = yield* TaskAdmin.getMany([later]).pipe(Effect.provide(TaskStore.layer({ schema })))
      expect(moved).toMatchObject({ queue: "sooner", priority: 5 })
      expect(json(yield* cli(schema, "delete", waiting[0]!, "--json")).changed).toEqual([waiting[0]])
      expect((yield* cli(schema, "show", waiting[0]!)).code).toBe(TaskCli.ExitCode.notFound)
    }), { timeout: 30_000 })

  it.scoped("clean deletes finished tasks past their retention (a dry run counts them); verify checks payloads against a definitions module", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      expect((yield* cli(schema, "migrate")).code).toBe(0)
      const ids = yield* Tasks.runMany(Receipt, [{ orderId: 1 }, { orderId: 2 }]).pipe(inSchema(schema))
      yield* TaskAdmin.cancel(ids).pipe(Effect.provide(TaskStore.layer({ schema })))
      // One of them is past its retention.
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE ${sql(`${schema}.tasks`)} SET expires_at = now() - interval '1 minute' WHERE id = ${ids[0]!}::bigint`
      expect(json(yield* cli(schema, "clean", "--dry-run", "--json"))).toEqual({ expired: 1, deleted: 0 })
      expect(json(yield* cli(schema, "clean", "--json"))).toEqual({ expired: 1, deleted: 1 })
      expect((yield* cli(schema, "clean")).out).toContain("deleted 0")
      const left = yield* cli(schema, "list", "--json")
      expect(left.code).toBe(0)
      expect(json(left).tasks.map((t: any) => t.id)).toEqual([ids[1]])

      // verify: a waiting task whose arguments no longer decode, and one of a key nobody defines.
      yield* Tasks.run(Receipt, { orderId: 7 }).pipe(inSchema(schema))
      yield* sql`INSERT INTO ${sql(`${schema}.tasks`)} (key, queue, args, max_attempts) VALUES (${Receipt.key}, 'default', '{"orderId":"seven"}'::jsonb, 1), ('cli-gone', 'default', '{}'::jsonb, 1)`
      const module = "test/support/cliDefinitions.ts"
      const verified = yield* cli(schema, "verify", module)
      expect(verified.code).toBe(TaskCli.ExitCode.refused)
      expect(verified.out).toContain("checked 3 unfinished task(s) against 2 definition(s)")
      expect(verified.out).toMatch(/^cli-receipt\s+1\s/m)
      expect(verified.out).toMatch(/^cli-gone\s+1$/m)
      expect((yield* cli(schema, "verify", "test/support/missing.ts")).code).toBe(TaskCli.ExitCode.usage)
    }))

  it.scoped("the executable: --help, exit codes for a bad command and an unreachable database; dashboard serves until SIGINT", () =>
    Effect.gen(function*() {
      const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
        Effect.gen(function*() {
          const child = yield* spawnTsx("src/bin.ts", args, { output: "capture", env })
          const code = yield* child.exited
          return { code, output: yield* child.output }
        })
      const help = yield* run(["--help"])
      expect(help.code).toBe(0)
      for (const command of ["migrate", "status", "list", "show", "explain", "rerun", "cancel", "pause", "resume", "move", "delete", "clean", "verify", "dashboard"]) {
        expect(help.output).toContain(command)
      }
      expect((yield* run(["nope"])).code).toBe(TaskCli.ExitCode.usage)
      const unreachable = yield* run(["status", "--url", "postgres://postgres@127.0.0.1:1/none"])
      expect(unreachable.code).toBe(TaskCli.ExitCode.error)
      expect(unreachable.output).toContain("effect-tasks:")
      // dashboard: serves the page and its API until SIGINT, then exits 0.
      const port = yield* freePort
      const schema = yield* freshSchema
      expect((yield* cli(schema, "migrate")).code).toBe(0)
      const served = yield* spawnTsx("src/bin.ts", ["dashboard", "--port", String(port), "--schema", schema, "--read-only"], {
        output: "capture",
        env: { DATABASE_URL: databaseUrl() }
      })
      yield* waitFor("the dashboard to listen", served.output, (output) => output.includes(`dashboard at http://127.0.0.1:${port}/`))
      const page = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/`).then((response) => response.text()))
      expect(page).toContain('data-read-only="true"')
      const overview = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/api/overview`).then((response) => response.json()))
      expect(overview).toMatchObject({ queues: [], nodes: [] })
      // Only requests addressed to it by its own names: not a rebound name of another site.
      const rebound = yield* Effect.async<number>((resume) => {
        httpGet({ host: "127.0.0.1", port, path: "/", headers: { host: `attacker.example:${port}` } }, (response) => {
          response.resume()
          resume(Effect.succeed(response.statusCode ?? 0))
        }).on("error", () => resume(Effect.succeed(-1)))
      })
      expect(rebound).toBe(421)
      // A browser watching the live overview does not hold the stop up.
      const live = yield* Effect.promise(async () => {
        const response = await fetch(`http://localhost:${port}/api/events`)
        const reader = response.body!.getReader()
        return new TextDecoder().decode((await reader.read()).value)
      })
      expect(live).toMatch(/^data: /)
      yield* served.kill("SIGINT")
      expect(yield* served.exited.pipe(Effect.timeout("10 seconds"))).toBe(0)

      const noUrl = yield* run(["status"], { DATABASE_URL: "" })
      expect(noUrl.code).toBe(TaskCli.ExitCode.usage)
      expect(noUrl.output).toContain("DATABASE_URL")
    }), { timeout: 60_000 })
})
