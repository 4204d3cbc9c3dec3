/**
 * The chaos scenarios, parameterised by size: `chaos.test.ts` runs short versions in the default
 * suite, `run.ts` (npm run chaos) the long ones, printing a table.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Clock, Duration, Effect, Fiber, Layer, Random, Ref } from "effect"
import {
  Chaos,
  enqueue,
  persistent,
  prepareSchema,
  restartServer,
  type ScenarioResult,
  settle,
  startWorkerProcess,
  terminateWorkerConnections,
  waitUntilBusy,
  waitUntilRegistered,
  type Worker
} from "./harness.js"

export interface Size {
  readonly tasks: number
  /** How long each task's handler sleeps. */
  readonly millis: number
  readonly workers: number
  /** When the fault hits, after the first tasks run; or how long repeated faults go on. */
  readonly faultSeconds: number
  /** The workers' `maxWorkerLosses`; the library default when absent. */
  readonly maxWorkerLosses?: number
}

const startWorkers = (schema: string, count: number, maxWorkerLosses?: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => `w${i + 1}`), (node) => startWorkerProcess(schema, node, maxWorkerLosses))

const begin = (scenario: string, size: Size) =>
  Effect.gen(function*() {
    const schema = yield* prepareSchema(scenario)
    const workers = yield* startWorkers(schema, size.workers, size.maxWorkerLosses)
    // Start-up is not part of the scenario: on a loaded 2-core machine it took 10-18 s.
    yield* waitUntilRegistered(schema, size.workers)
    const startedAt = yield* Clock.currentTimeMillis
    yield* enqueue(schema, size.tasks, size.millis)
    return { schema, workers, startedAt }
  })

const stopAll = (workers: ReadonlyArray<Worker>) =>
  Effect.forEach(workers, (worker) => worker.kill("SIGTERM"), { concurrency: "unbounded", discard: true })

/** 1. SIGKILL one worker in the middle of its tasks; the others finish them. */
export const killWorker = (size: Size) =>
  Effect.gen(function*() {
    const { schema, startedAt, workers } = yield* begin("kill", size)
    yield* waitUntilBusy(schema, workers[0]!.node)
    yield* Effect.sleep(Duration.seconds(size.faultSeconds))
    yield* workers[0]!.kill("SIGKILL")
    const result = yield* settle("SIGKILL a worker mid-task", schema, startedAt)
    yield* stopAll(workers.slice(1))
    return result
  })

/** 2. Restart PostgreSQL (fast shutdown) under load. */
export const restartPostgres = (size: Size) =>
  Effect.gen(function*() {
    const { schema, startedAt, workers } = yield* begin("restart", size)
    yield* waitUntilBusy(schema)
    yield* Effect.sleep(Duration.seconds(size.faultSeconds))
    yield* restartServer
    const result = yield* settle("restart PostgreSQL under load", schema, startedAt)
    yield* stopAll(workers)
    return result
  })

/** 3. Cut every worker connection, again and again, under load. */
export const terminateConnections = (size: Size) =>
  Effect.gen(function*() {
    const { schema, startedAt, workers } = yield* begin("terminate", size)
    yield* waitUntilBusy(schema)
    const until = (yield* Clock.currentTimeMillis) + size.faultSeconds * 1000
    while ((yield* Clock.currentTimeMillis) < until) {
      yield* terminateWorkerConnections
      yield* Effect.sleep("500 millis")
    }
    const result = yield* settle("pg_terminate_backend, repeatedly", schema, startedAt)
    yield* stopAll(workers)
    return result
  })

/** 4. Other clients hold all but a few of the server's connections for a while. */
export const exhaustConnections = (size: Size & { readonly held: number }) =>
  Effect.gen(function*() {
    const { server } = yield* Chaos
    const schema = yield* prepareSchema("exhaust")
    const hog = yield* Layer.build(PgClient.layer({ url: server.url, maxConnections: size.held }))
    const sql = yield* Effect.provide(SqlClient.SqlClient, hog)
    const holding = yield* Effect.fork(
      Effect.forEach(Array.from({ length: size.held }), () => sql`SELECT pg_sleep(${size.faultSeconds})`, {
        concurrency: "unbounded",
        discard: true
      }).pipe(Effect.ignore)
    )
    yield* Effect.sleep("300 millis")
    const workers = yield* startWorkers(schema, size.workers)
    const startedAt = yield* Clock.currentTimeMillis
    yield* enqueue(schema, size.tasks, size.millis)
    yield* Fiber.join(holding)
    const result = yield* settle(`connections exhausted (${size.held} held of 40)`, schema, startedAt)
    yield* stopAll(workers)
    return result
  })

/**
 * 5. Kill a worker and start a replacement every couple of seconds. Kills come as often as leases
 * lapse, so a rescued task, first in line again, is often claimed by the next victim: with the
 * default `maxWorkerLosses` (3) an innocent task is now and then failed as poison, as documented.
 * The workers here allow 10 losses in a row, so that only loss, duplicates and overlaps count.
 */
export const repeatedKills = (input: Size) =>
  Effect.gen(function*() {
    const size = { maxWorkerLosses: 10, ...input }
    const { schema, startedAt, workers } = yield* begin("repeated", size)
    yield* waitUntilBusy(schema)
    const alive = yield* Ref.make<ReadonlyArray<Worker>>(workers)
    const until = (yield* Clock.currentTimeMillis) + size.faultSeconds * 1000
    let generation = 0
    while ((yield* Clock.currentTimeMillis) < until) {
      yield* Effect.sleep("2 seconds")
      const current = yield* Ref.get(alive)
      const victim = current[yield* Random.nextIntBetween(0, current.length)]!
      yield* victim.kill("SIGKILL")
      const replacement = yield* startWorkerProcess(schema, `r${++generation}`, size.maxWorkerLosses)
      yield* Ref.set(alive, [...current.filter((worker) => worker !== victim), replacement])
    }
    const result = yield* settle(`kill and restart workers every 2 s for ${size.faultSeconds} s`, schema, startedAt)
    yield* stopAll(yield* Ref.get(alive))
    return result
  })

/** 6. A long idle-in-transaction session holds the xmin horizon during load: throughput and dead tuples. */
export const idleInTransaction = (size: Size) =>
  Effect.gen(function*() {
    const { admin, server } = yield* Chaos
    const sql = yield* Effect.provide(SqlClient.SqlClient, admin)
    const run = (label: string, holdHorizon: boolean) =>
      Effect.gen(function*() {
        const schema = yield* prepareSchema(label)
        const holder = yield* Layer.build(PgClient.layer({ url: server.url, maxConnections: 1 }))
        const holderSql = yield* Effect.provide(SqlClient.SqlClient, holder)
        const holding = holdHorizon
          ? yield* Effect.fork(holderSql.withTransaction(
            Effect.zipRight(holderSql`SELECT txid_current()`, Effect.sleep(Duration.seconds(size.faultSeconds * 10)))
          ).pipe(Effect.ignore))
          : undefined
        const { startedAt, workers } = yield* Effect.gen(function*() {
          const workers = yield* Effect.forEach(
            Array.from({ length: size.workers }, (_, i) => `${label}${i + 1}`),
            (node) => startWorkerProcess(schema, node)
          )
          const startedAt = yield* Clock.currentTimeMillis
          yield* enqueue(schema, size.tasks, size.millis)
          return { startedAt, workers }
        })
        const result = yield* settle(label, schema, startedAt)
        // VACUUM removes only what no open transaction can still see: with the horizon held, nothing.
        yield* persistent(sql`VACUUM ${sql(`${schema}.tasks`)}`)
        yield* Effect.sleep("1 second") // statistics are published asynchronously
        const [dead] = yield* persistent(sql<{ dead: number }>`
          SELECT coalesce(n_dead_tup, 0)::int AS dead FROM pg_stat_user_tables
          WHERE schemaname = ${schema} AND relname = 'tasks'`)
        if (holding !== undefined) yield* Fiber.interrupt(holding)
        yield* stopAll(workers)
        return { ...result, deadTuples: dead?.dead ?? 0, tasksPerSecond: Math.round(result.tasks / result.secondsToFinish) }
      }).pipe(Effect.scoped)
    const baseline = yield* run("baseline", false)
    const held = yield* run("horizon held", true)
    return { baseline, held }
  })

export type { ScenarioResult }
