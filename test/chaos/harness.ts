/**
 * What the chaos scenarios share: a PostgreSQL server they can stop, restart and cut connections
 * of; worker processes they start and kill (only their own); tasks whose executions and completions
 * are recorded; and the final check (nothing lost, nothing completed twice).
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Duration, Effect, Layer, Random, Redacted, Schedule, type Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type RunningServer, startServer } from "../../src/internal/embedded/server.js"
import { Tasks, TaskStatus, TaskStore } from "../../src/index.js"
import { spawnTsx } from "../support/process.js"
import { waitFor, WaitTimeout } from "../support/waitFor.js"
import { ChaosJob } from "./chaosJob.js"

export interface ScenarioResult {
  readonly scenario: string
  readonly tasks: number
  readonly succeeded: number
  readonly lost: number
  readonly failed: number
  readonly duplicateCompletions: number
  /** Pairs of successful runs of one task whose times overlap: a task running on two nodes at once. */
  readonly overlappingRuns: number
  /** Handler runs that succeeded but whose result was not the one applied (stale after a rescue, or killed before recording). */
  readonly unappliedRuns: number
  /** Tasks whose worker was lost and that were rescued (last error "worker lost"): the fault hit work in flight. */
  readonly tasksThatLostAWorker: number
  /** Tasks that needed more than one attempt (a lost worker, or a failed attempt during the fault). */
  readonly tasksRetried: number
  readonly secondsToFinish: number
}

export class Chaos extends Context.Tag("test/Chaos")<Chaos, {
  readonly server: RunningServer
  readonly url: string
  readonly admin: Context.Context<SqlClient.SqlClient | PgClient.PgClient>
}>() {}

/** A dedicated server (the scenarios restart it) and an admin client on it. */
export const ChaosLive = Layer.scoped(Chaos, Effect.gen(function*() {
  const server = yield* startServer({ maxConnections: 40 })
  const url = Redacted.value(server.url)
  const admin = yield* Layer.build(PgClient.layer({ url: server.url, maxConnections: 3, applicationName: "chaos-admin" }))
  return { server, url, admin }
})).pipe(Layer.orDie)

/** Retries an admin statement through restarts and cut connections. */
export const persistent = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.retry(self, Schedule.spaced("200 millis").pipe(Schedule.upTo("60 seconds")))

export interface Worker {
  readonly node: string
  readonly process: ChildProcess
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
}

/** Where a scenario's worker processes write their output (removed with the scenario's scope). */
const logDirectory = (schema: string) => path.join(os.tmpdir(), "effect-tasks-chaos", schema)

/** The last lines each worker of a scenario wrote: what a failure message shows. */
const workerOutput = (schema: string, lines = 15): string => {
  const dir = logDirectory(schema)
  if (!fs.existsSync(dir)) return "(no worker output)"
  return fs.readdirSync(dir).sort().map((file) => {
    const tail = fs.readFileSync(path.join(dir, file), "utf8").trimEnd().split("\n").slice(-lines).join("\n")
    return `--- ${file} (last ${lines} lines) ---\n${tail}`
  }).join("\n")
}

/**
 * Waits (through outages) until `done` holds for what `probe` reads. A failure names what was
 * awaited, the last value seen and the workers' recent output, instead of dying anonymously.
 */
const waitInScenario = <A, E>(
  schema: string,
  what: string,
  probe: Effect.Effect<A, E>,
  done: (value: A) => boolean,
  within: Duration.DurationInput
) =>
  waitFor(what, persistent(probe), done, within).pipe(
    Effect.orDieWith((error) =>
      new Error(
        `${error instanceof WaitTimeout ? error.message : `${what}: ${String(error)}`}\nworker output:\n${workerOutput(schema)}`
      )
    )
  )

/** Starts a worker process, its output going to the scenario's log directory; the scope kills it if it still runs. */
export const startWorkerProcess = (
  schema: string,
  node: string,
  maxWorkerLosses?: number
): Effect.Effect<Worker, never, Chaos | Scope.Scope> =>
  Effect.gen(function*() {
    const { url } = yield* Chaos
    const log = yield* Effect.acquireRelease(
      Effect.sync(() => fs.openSync(path.join(logDirectory(schema), `${node}.log`), "a")),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    )
    const worker = yield* spawnTsx(
      "test/chaos/chaosWorker.ts",
      [url, schema, node, ...(maxWorkerLosses === undefined ? [] : [String(maxWorkerLosses)])],
      { output: log }
    )
    return {
      node,
      process: worker.child,
      kill: (signal) => Effect.zipRight(worker.kill(signal), worker.exited)
    }
  })

/** A fresh schema with the task tables, an executions log and a completion trigger. */
export const prepareSchema = (scenario: string) =>
  Effect.gen(function*() {
    const { admin } = yield* Chaos
    const suffix = (yield* Random.nextIntBetween(0, 36 ** 5)).toString(36)
    const schema = `chaos_${scenario.replace(/[^a-z]/g, "_")}_${suffix}`
    yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdirSync(logDirectory(schema), { recursive: true })),
      () => Effect.sync(() => fs.rmSync(logDirectory(schema), { recursive: true, force: true }))
    )
    yield* Effect.gen(function*() {
      const store = yield* TaskStore.make({ schema })
      yield* store.migrate
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE ${sql(`${schema}.executions`)} (task_id bigint, attempt int, node text, started_at timestamptz, ended_at timestamptz)`
      yield* sql`CREATE TABLE ${sql(`${schema}.completions`)} (task_id bigint, attempt int, at timestamptz DEFAULT now())`
      // The schema name is ours (letters, digits, _), so it may stand in the function body.
      yield* sql.unsafe(`CREATE FUNCTION ${schema}.record_completion() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO ${schema}.completions (task_id, attempt) VALUES (NEW.id, NEW.attempt); RETURN NEW; END $$`)
      yield* sql.unsafe(`CREATE TRIGGER record_completion AFTER UPDATE OF status ON ${schema}.tasks FOR EACH ROW
        WHEN (NEW.status = 'succeeded' AND OLD.status <> 'succeeded') EXECUTE FUNCTION ${schema}.record_completion()`)
    }).pipe(Effect.provide(admin), Effect.orDie)
    return schema
  })

export const enqueue = (schema: string, count: number, millis: number) =>
  Effect.flatMap(Chaos, ({ admin }) =>
    Tasks.runMany(ChaosJob, Array.from({ length: count }, (_, n) => ({ n, millis }))).pipe(
      Effect.provide(TaskStore.layerDatabaseSchema(schema)),
      Effect.provide(admin),
      persistent,
      Effect.orDie
    ))

/** Waits (through outages) until every task is final, then tallies what happened. */
export const settle = (scenario: string, schema: string, startedAt: number, within: Duration.DurationInput = "120 seconds") =>
  Effect.gen(function*() {
    const { admin } = yield* Chaos
    const sql = yield* Effect.provide(SqlClient.SqlClient, admin)
    const counts = sql<{ total: number; final: number }>`
      SELECT count(*)::int AS total,
             count(*) FILTER (WHERE status IN (${TaskStatus.succeeded}, ${TaskStatus.failed}))::int AS final
      FROM ${sql(`${schema}.tasks`)}`.pipe(Effect.provide(admin))
    yield* waitInScenario(
      schema,
      `every task of ${scenario} to succeed or fail`,
      Effect.map(counts, ([row]) => row),
      (row) => row !== undefined && row.final === row.total,
      within
    )
    const finishedAt = yield* Clock.currentTimeMillis
    const [tally] = yield* persistent(sql<{
      tasks: number
      succeeded: number
      lost: number
      failed: number
      overlapping: number
      duplicates: number
      executions: number
      completions: number
      rescued: number
      retried: number
    }>`
      SELECT
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)}) AS tasks,
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)} WHERE status = ${TaskStatus.succeeded}) AS succeeded,
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)}
          WHERE status NOT IN (${TaskStatus.succeeded}, ${TaskStatus.failed})) AS lost,
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)} WHERE status = ${TaskStatus.failed}) AS failed,
        (SELECT count(*)::int FROM ${sql(`${schema}.executions`)} AS a JOIN ${sql(`${schema}.executions`)} AS b
          ON a.task_id = b.task_id AND a.attempt < b.attempt
          AND a.started_at < b.ended_at AND b.started_at < a.ended_at) AS overlapping,
        (SELECT count(*)::int FROM (SELECT task_id FROM ${sql(`${schema}.completions`)}
          GROUP BY task_id HAVING count(*) > 1) AS twice) AS duplicates,
        (SELECT count(*)::int FROM ${sql(`${schema}.executions`)}) AS executions,
        (SELECT count(*)::int FROM ${sql(`${schema}.completions`)}) AS completions,
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)} WHERE last_error LIKE '%worker lost%') AS rescued,
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)} WHERE attempt > 1) AS retried`
      .pipe(Effect.provide(admin))).pipe(Effect.orDie)
    if (tally!.failed > 0) {
      // Say why: a failure here is what a user would have to investigate.
      const reasons = yield* persistent(sql<{ id: string; attempt: number; lostCount: number; lastError: string | null }>`
        SELECT id::text AS id, attempt, lost_count AS "lostCount", last_error AS "lastError"
        FROM ${sql(`${schema}.tasks`)} WHERE status = ${TaskStatus.failed} ORDER BY id LIMIT 5`
        .pipe(Effect.provide(admin))).pipe(Effect.orDie)
      yield* Effect.logError(`${scenario}: ${tally!.failed} task(s) failed`, reasons)
    }
    return {
      scenario,
      tasks: tally!.tasks,
      succeeded: tally!.succeeded,
      lost: tally!.lost,
      failed: tally!.failed,
      duplicateCompletions: tally!.duplicates,
      overlappingRuns: tally!.overlapping,
      unappliedRuns: tally!.executions - tally!.completions,
      tasksThatLostAWorker: tally!.rescued,
      tasksRetried: tally!.retried,
      secondsToFinish: Math.round((finishedAt - startedAt) / 100) / 10
    } satisfies ScenarioResult
  })

/** Every connection of the worker processes, cut. */
export const terminateWorkerConnections = Effect.flatMap(Chaos, ({ admin }) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`
      SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'chaos-worker'`)
    .pipe(Effect.provide(admin), persistent, Effect.orDie, Effect.map((rows) => rows[0]?.n ?? 0)))

export const restartServer = Effect.flatMap(Chaos, ({ server }) =>
  Effect.zipRight(server.stop, server.start).pipe(Effect.orDie))


/** Waits until `count` worker processes have started and registered their nodes. */
export const waitUntilRegistered = (schema: string, count: number) =>
  Effect.gen(function*() {
    const { admin } = yield* Chaos
    const sql = yield* Effect.provide(SqlClient.SqlClient, admin)
    const registered = sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(`${schema}.nodes`)}`.pipe(
      Effect.map(([row]) => row?.n ?? 0),
      Effect.provide(admin)
    )
    yield* waitInScenario(schema, `${count} worker(s) to start and register in ${schema}`, registered, (n) => n >= count, "90 seconds")
  })

/** Waits until `node` (or any node) is running at least one task: faults must hit work in flight. */
export const waitUntilBusy = (schema: string, node?: string) =>
  Effect.gen(function*() {
    const { admin } = yield* Chaos
    const sql = yield* Effect.provide(SqlClient.SqlClient, admin)
    const probe = sql<{ running: number; registeredNodes: number }>`
      SELECT
        (SELECT count(*)::int FROM ${sql(`${schema}.tasks`)}
          WHERE status = ${TaskStatus.running} ${node === undefined ? sql`` : sql`AND claimed_by = ${node}`}) AS running,
        (SELECT count(*)::int FROM ${sql(`${schema}.nodes`)}) AS "registeredNodes"`.pipe(
      Effect.map(([row]) => row),
      Effect.provide(admin)
    )
    yield* waitInScenario(
      schema,
      `${node ?? "a worker"} to run a task in ${schema}`,
      probe,
      (row) => (row?.running ?? 0) > 0,
      "30 seconds"
    )
  })
