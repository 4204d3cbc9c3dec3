import { SqlClient } from "@effect/sql"
import { Context, Duration, Effect, ExecutionStrategy, Exit, Layer, Option, Scope } from "effect"
import { SchedulingPolicy, TaskManager, type TaskRegistry, Tasks, TaskStatus, TaskStore } from "../../src/index.js"
import { freshSchema } from "./database.js"
import type { ClaimRequest } from "../../src/internal/store/claim.js"
import { makeStore, type Store } from "../../src/internal/store/store.js"
import { spawnTsx } from "./process.js"
import { Sleepy } from "./sleepy.js"
import { waitFor } from "./waitFor.js"

/**
 * Starts handler Layers on a TaskManager in a scope the test can close early (`stop`, the
 * graceful stop) and that the test's own scope closes otherwise.
 */
export const startWorker = <E, R>(
  handlers: Layer.Layer<never, E, TaskRegistry.TaskRegistry | R>,
  options: TaskManager.Options
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const context = yield* Layer.buildWithScope(handlers.pipe(Layer.provideMerge(TaskManager.layer(options))), scope)
    return {
      manager: Context.get(context, TaskManager.TaskManager),
      stop: Scope.close(scope, Exit.void)
    }
  })

/** The store of a schema, to read rows the way the library does. */
export const storeOf = (schema: string) => makeStore({ schema }).pipe(Effect.orDie)

/** A fresh schema with the tables migrated, and its store: where most tests without a worker start. */
export const migratedSchema: Effect.Effect<
  { readonly schema: string; readonly store: Store },
  never,
  Scope.Scope | SqlClient.SqlClient
> = Effect.gen(function*() {
  const schema = yield* freshSchema
  const store = yield* storeOf(schema)
  yield* Effect.orDie(store.migrate)
  return { schema, store }
})

/**
 * A claim as a node would make it, for calling `store.claim` directly (no executor behind it):
 * one-minute timeouts and lease, the default policy unless given.
 */
export const claimRequest = (
  nodeId: string,
  keys: ReadonlyArray<string>,
  limit: number,
  policy: SchedulingPolicy.SchedulingPolicy = SchedulingPolicy.defaults
): ClaimRequest => ({
  keys,
  timeouts: keys.map(() => Duration.minutes(1)),
  deadlineGrace: Duration.seconds(1),
  limit,
  nodeId,
  leaseDuration: Duration.minutes(1),
  policy
})

/** Runs an operator effect (`TaskAdmin`) against the store of a schema. */
export const asAdmin = (schema: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.provideServiceEffect(self, TaskStore.TaskStore, storeOf(schema))

/** Waits until every given task is in one of `statuses`. */
export const waitForStatus = (
  schema: string,
  ids: ReadonlyArray<string>,
  statuses: ReadonlyArray<string>,
  within: Duration.DurationInput = "20 seconds"
): Effect.Effect<ReadonlyArray<TaskStore.TaskRow>, unknown, SqlClient.SqlClient> =>
  Effect.flatMap(storeOf(schema), (store) =>
    waitFor(
      `tasks ${ids.join(",")} to reach ${statuses.join("|")}`,
      store.getMany(ids),
      (rows) => rows.length === ids.length && rows.every((row) => statuses.includes(row.status)),
      within
    ))

/** Waits until the manager's LISTEN is active (visible in pg_stat_activity). */
export const waitForListener = (schema: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* waitFor(
      "the LISTEN connection",
      sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE query = ${`LISTEN "${schema}_tasks"`}`.withoutTransform,
      (rows) => (rows[0]?.n ?? 0) > 0
    )
  })


/**
 * Starts a script of `test/support/` as a real process with these arguments; the scope SIGKILLs it
 * if it still runs. `exited` resolves with its exit code.
 */
export const spawnProcess = (script: string, args: ReadonlyArray<string>) =>
  Effect.map(spawnTsx(`test/support/${script}`, args), ({ exited, kill }) => ({ kill, exited }))

/**
 * Starts a worker script of `test/support/` (by default `workerProcess.ts`, a worker with a
 * one-minute "sleepy" handler; `args` follow the url and schema); see `spawnProcess`.
 */
export const spawnWorkerProcess = (
  url: string,
  schema: string,
  script: string = "workerProcess.ts",
  args: ReadonlyArray<string> = []
) => spawnProcess(script, [url, schema, ...args])

/** A `Sleepy` task, enqueued and then running in a worker process of its own (see `spawnWorkerProcess`). */
export const sleepyTaskInAProcess = (url: string, schema: string) =>
  Effect.gen(function*() {
    const store = yield* storeOf(schema)
    yield* store.migrate
    const id = yield* Tasks.run(Sleepy, {}).pipe(Effect.provide(TaskStore.layerDatabaseSchema(schema)))
    const child = yield* spawnWorkerProcess(url, schema)
    yield* waitForStatus(schema, [id], [TaskStatus.running])
    return { id, child, store }
  })


/**
 * Waits until the manager's claimer has completed two rounds that began after this call (it is
 * woken for them): whatever those claims did not take, it does not take. An event, not a sleep,
 * to assert that something is not claimed.
 */
export const twoClaimRoundsLater = (manager: TaskManager.TaskManager["Type"]) =>
  twoRoundsLater(manager, "claimer", manager.wake)

/**
 * Waits until the manager's background fiber `fiber` (see `manager.health`) has completed two
 * rounds that began after this call; `nudge` runs before each (to wake a fiber that waits).
 */
export const twoRoundsLater = (
  manager: TaskManager.TaskManager["Type"],
  fiber: string,
  nudge: Effect.Effect<void> = Effect.void
) => {
  const roundAfter = (since: number) =>
    Effect.zipRight(
      nudge,
      waitFor(`a ${fiber} round`, manager.health, (fibers) =>
        fibers.some((health) =>
          health.fiber === fiber && Option.exists(health.lastSuccessAt, (at) => at.getTime() > since)
        ))
    )
  return Effect.gen(function*() {
    yield* roundAfter(Date.now())
    yield* roundAfter(Date.now())
  })
}

/**
 * Waits until a statement naming `schema` is blocked on a lock in this database (a row, a unique
 * key or a queue another transaction holds): the event a race test needs before releasing it.
 */
export const waitForLockWait = (schema: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    waitFor(
      `a statement on ${schema} waiting for a lock`,
      sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND position(${schema} in query) > 0`,
      (rows) => (rows[0]?.n ?? 0) > 0
    ))

/** When the manager's background fiber `fiber` last completed a round (see `manager.health`). */
export const lastRoundOf = (manager: TaskManager.TaskManager["Type"], fiber: string) =>
  Effect.map(manager.health, (fibers) => fibers.find((health) => health.fiber === fiber)?.lastSuccessAt)

/** The ids of the nodes registered in `schema`. */
export const nodeIds = (schema: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ id: string }>`SELECT id FROM ${sql(`${schema}.nodes`)}`, (rows) => rows.map((row) => row.id)))
