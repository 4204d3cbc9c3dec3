/**
 * The test database: a PgClient for the run's server (see globalSetup) and fresh schemas that are
 * dropped when the test's scope closes, so tests never see each other's tasks.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { inject } from "@effect/vitest"
import { Effect, Layer, Random, Redacted, Schedule, type Scope } from "effect"
import { TaskStore } from "../../src/index.js"

export const databaseUrl = (): string => inject("databaseUrl")

/** A client with its own pool: two of them behave like two processes' connections. */
export const pgClient = (options: Partial<PgClient.PgClientConfig> = {}) =>
  PgClient.layer({ url: Redacted.make(databaseUrl()), maxConnections: 20, ...options })

/** A schema name no other test uses; the schema (created by migrations) is dropped at scope end. */
export const freshSchema: Effect.Effect<string, never, Scope.Scope | SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const suffix = yield* Random.nextIntBetween(0, 36 ** 8)
  const schema = `t_${process.pid}_${suffix.toString(36)}`
  // A worker process still stopping may hold locks on its tables: a deadlock with it is retried.
  yield* Effect.addFinalizer(() =>
    sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`.pipe(
      Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.intersect(Schedule.recurs(10)))),
      Effect.orDie
    )
  )
  return schema
})

export const PgTest: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient> = Layer.orDie(pgClient())

/** Runs an effect with `Tasks.run` enqueuing into `schema`. */
export const inSchema = (schema: string) => Effect.provide(TaskStore.layerDatabaseSchema(schema))
