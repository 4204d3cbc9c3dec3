/**
 * The fence under the faults that break naive ones: a network that silently drops a worker's
 * traffic (with its wall clock stepped back, too), a frozen process whose node id a replacement
 * took, and handlers that hold every connection of the application's pool. Real processes where
 * processes matter; every run's start and end is recorded by the handler itself.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Ref, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Task, Tasks, TaskStatus, type TaskManager } from "../src/index.js"
import { startBlackholeProxy } from "./support/blackholeProxy.js"
import { databaseUrl, freshSchema, inSchema, pgClient, PgTest } from "./support/database.js"
import { overlappingRuns, readRuns, Recorded, type Run } from "./support/recorded.js"
import { waitFor } from "./support/waitFor.js"
import { spawnProcess, startWorker, storeOf, waitForStatus } from "./support/worker.js"

const realNow = () => performance.timeOrigin + performance.now()

const recordsDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-tasks-fencing-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const recordingWorker = (config: {
  readonly url: string
  readonly schema: string
  readonly nodeId: string
  readonly records: string
  readonly millis: number
  readonly options: TaskManager.Options
}) => spawnProcess("recordingWorker.ts", [JSON.stringify(config)])

/** Leases of 3.5 s; the fence comes 2.5 s after the start of the last good heartbeat. */
const partitionTimings = {
  heartbeatInterval: "500 millis",
  nodeTimeout: "4 seconds",
  rescueInterval: "200 millis",
  scanInterval: "500 millis",
  stopTimeout: "1 second"
} as const

const partitionScenario = (stepWallClock: boolean) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const schema = yield* freshSchema
    yield* (yield* storeOf(schema)).migrate
    const dir = yield* recordsDir
    const proxy = yield* startBlackholeProxy(databaseUrl())
    const cutOff = path.join(dir, "cut-off.jsonl")
    const survivor = path.join(dir, "survivor.jsonl")
    const worker = yield* recordingWorker({
      url: proxy.url,
      schema,
      nodeId: "cut-off",
      records: cutOff,
      millis: 60_000,
      options: { ...partitionTimings, poolSize: 8 }
    })
    const ids = yield* Tasks.runMany(Recorded, Array.from({ length: 8 }, (_, n) => ({ n }))).pipe(inSchema(schema))
    yield* waitFor("8 attempts running on the node to be cut off", Effect.sync(() => readRuns(cutOff).length), (n) => n === 8, "30 seconds")

    const partitionedAt = realNow()
    yield* proxy.partition
    if (stepWallClock) yield* worker.kill("SIGUSR2")
    yield* recordingWorker({
      url: databaseUrl(),
      schema,
      nodeId: "survivor",
      records: survivor,
      millis: 200,
      options: { ...partitionTimings, poolSize: 8 }
    })

    // The leases the cut-off node holds, as last renewed: the moment the first lapses is its fence's deadline.
    const leases = new Map<string, number>()
    const rows = sql<{ id: string; status: string; claimedBy: string | null; lease: Date | null }>`
      SELECT id::text AS id, status, claimed_by AS "claimedBy", lease_expires_at AS lease FROM ${sql(`${schema}.tasks`)}
      WHERE id = ANY(${ids}::bigint[])`.withoutTransform.pipe(
        Effect.tap((rows) =>
          Effect.sync(() => {
            for (const row of rows) {
              if (row.claimedBy === "cut-off" && row.lease !== null) {
                leases.set(row.id, Math.max(leases.get(row.id) ?? 0, row.lease.getTime()))
              }
            }
          })
        )
      )
    yield* waitFor("the work to complete on the survivor", rows, (rows) => rows.every((row) => row.status === TaskStatus.succeeded), "60 seconds")
    const doneAt = realNow()

    expect(leases.size).toBe(8)
    const firstLapse = Math.min(...leases.values())
    const stopped = readRuns(cutOff)
    expect(stopped.length).toBe(8)
    expect(stopped.every((run) => run.end !== undefined && run.interrupted)).toBe(true)
    const lastStop = Math.max(...stopped.map((run) => run.end!))
    const firstStop = Math.min(...stopped.map((run) => run.end!))
    expect(lastStop).toBeLessThan(firstLapse)
    const elsewhere = readRuns(survivor)
    expect(overlappingRuns([...stopped, ...elsewhere])).toEqual([])
    expect(new Set(elsewhere.filter((run) => !run.interrupted).map((run) => run.task))).toEqual(new Set(ids))
    yield* Effect.log(
      `partition${stepWallClock ? " (wall clock stepped back an hour)" : ""}: 8 attempts stopped ` +
        `${Math.round(firstStop - partitionedAt)}–${Math.round(lastStop - partitionedAt)} ms after the cut, ` +
        `${Math.round(firstLapse - lastStop)} ms before the first lease lapsed; ` +
        `all 8 done on the survivor ${Math.round(doneAt - partitionedAt)} ms after the cut`
    )
  })

layer(PgTest, { excludeTestServices: true })("fencing", (it) => {
  it.scoped("a worker whose traffic is silently dropped stops all 8 attempts before any lease lapses; none overlaps; the work completes elsewhere", () =>
    partitionScenario(false), { timeout: 120_000 })

  it.scoped("the same with the worker's wall clock stepped back an hour during the partition", () =>
    partitionScenario(true), { timeout: 120_000 })

  it.scoped("a process frozen past nodeTimeout, whose node id a replacement took, leaves the replacement's claim, row and lease alone when it stops", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const dir = yield* recordsDir
      const timings = {
        heartbeatInterval: "250 millis",
        nodeTimeout: "2 seconds",
        rescueInterval: "100 millis",
        scanInterval: "200 millis",
        stopTimeout: "500 millis"
      } as const
      const start = (name: string) =>
        recordingWorker({ url: databaseUrl(), schema, nodeId: "twin", records: path.join(dir, name), millis: 60_000, options: timings })
      const id = yield* Tasks.run(Recorded, { n: 1 }).pipe(inSchema(schema))
      const task = Effect.map(
        sql<{ status: string; claimedBy: string | null; claimToken: string | null; lease: Date | null }>`
          SELECT status, claimed_by AS "claimedBy", claim_token::text AS "claimToken", lease_expires_at AS lease
          FROM ${sql(`${schema}.tasks`)} WHERE id = ${id}::bigint`.withoutTransform,
        (rows) => rows[0]!
      )
      const node = Effect.map(
        sql<{ incarnation: string; isSilent: boolean }>`
          SELECT incarnation::text AS incarnation, heartbeat_at < now() - interval '2 seconds' AS "isSilent"
          FROM ${sql(`${schema}.nodes`)} WHERE id = 'twin'`.withoutTransform,
        (rows) => rows[0]
      )
      const lease = Effect.map(
        sql<{ incarnation: string | null }>`
          SELECT incarnation::text AS incarnation FROM ${sql(`${schema}.leases`)}
          WHERE name = 'maintenance' AND holder = 'twin' AND expires_at > now()`.withoutTransform,
        (rows) => rows[0]?.incarnation
      )

      const zombie = yield* start("zombie.jsonl")
      const first = yield* waitFor("the first process to run the task", task, (row) => row.status === TaskStatus.running, "30 seconds")
      yield* zombie.kill("SIGSTOP")
      yield* waitFor("the frozen process's node to look dead", node, (row) => row?.isSilent === true)
      yield* start("replacement.jsonl")
      const taken = yield* waitFor(
        "the replacement to take the task back and run it",
        task,
        (row) => row.status === TaskStatus.running && row.claimToken !== first.claimToken,
        "30 seconds"
      )
      const replacement = (yield* node)!.incarnation
      yield* waitFor("the replacement to lead maintenance", lease, (incarnation) => incarnation === replacement)

      yield* zombie.kill("SIGCONT")
      yield* zombie.kill("SIGINT")
      yield* zombie.exited
      const after = yield* task
      expect(after).toMatchObject({ status: TaskStatus.running, claimedBy: "twin", claimToken: taken.claimToken })
      expect((yield* node)?.incarnation).toBe(replacement)
      expect(yield* lease).toBe(replacement)
      // The replacement still holds the claim: its heartbeats go on renewing it.
      yield* waitFor("the replacement to renew its lease again", task, (row) =>
        row.claimToken === taken.claimToken && row.lease!.getTime() > after.lease!.getTime())
    }), { timeout: 120_000 })

  it.scoped("handlers holding every connection of the application's pool past nodeTimeout: no lease lapses, no overlap, no task failed", () =>
    Effect.gen(function*() {
      const schema = yield* freshSchema
      yield* (yield* storeOf(schema)).migrate
      const Hold = Task.make("hold", { args: Schema.Struct({ n: Schema.Number }), retry: { times: 3 } })
      const runs = yield* Ref.make<ReadonlyArray<Run>>([])
      const holding = (node: string) =>
        Hold.handler(() =>
          Effect.gen(function*() {
            const current = Option.getOrThrow(yield* Task.CurrentTask)
            const startedAt = realNow()
            const sql = yield* SqlClient.SqlClient
            // Holds one of the pool's connections for longer than nodeTimeout.
            yield* sql.withTransaction(sql`SELECT pg_sleep(2.5)`).pipe(
              Effect.onExit((exit) =>
                Ref.update(runs, (all) => [...all, {
                  task: current.id,
                  attempt: current.attempt,
                  node,
                  start: startedAt,
                  end: realNow(),
                  interrupted: Exit.isInterrupted(exit)
                }])
              )
            )
          })
        )
      const timings = { heartbeatInterval: "250 millis", nodeTimeout: "2 seconds", rescueInterval: "100 millis" } as const
      // Six handlers on a pool of two connections: four of them wait for one, up to 7.5 s.
      const tight = yield* Layer.build(pgClient({ maxConnections: 2 }))
      yield* startWorker(holding("starved"), { schema, nodeId: "starved", poolSize: 6, ...timings }).pipe(Effect.provide(tight))
      const roomy = yield* Layer.build(pgClient({ maxConnections: 10 }))
      yield* startWorker(holding("roomy"), { schema, nodeId: "roomy", poolSize: 2, ...timings }).pipe(Effect.provide(roomy))
      const ids = yield* Tasks.runMany(Hold, Array.from({ length: 8 }, (_, n) => ({ n }))).pipe(inSchema(schema))
      const rows = yield* waitForStatus(schema, ids, [TaskStatus.succeeded, TaskStatus.failed], "60 seconds")
      expect(rows.map((row) => [row.status, row.attempt, row.lostCount, row.lastError])).toEqual(
        ids.map(() => [TaskStatus.succeeded, 1, 0, null])
      )
      const all = yield* Ref.get(runs)
      expect(all.filter((run) => run.interrupted)).toEqual([])
      expect(overlappingRuns(all)).toEqual([])
      expect(all.filter((run) => run.node === "starved").length).toBeGreaterThan(2)
    }), { timeout: 120_000 })
})
