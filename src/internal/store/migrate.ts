import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { IncompatibleSchema, TaskStoreError } from "../../TaskError.js"
import { refail } from "./refail.js"
import { createTasks } from "./migrations/0001_create_tasks.js"
import { createNodesAndLeases } from "./migrations/0002_nodes_and_leases.js"
import { addDelaysAndUniqueKeys } from "./migrations/0003_delays_and_unique_keys.js"
import { createQueues } from "./migrations/0004_queues.js"
import { addChildren } from "./migrations/0005_children.js"
import { addOwners } from "./migrations/0006_owners.js"
import { addPaused } from "./migrations/0007_paused.js"
import { addConcurrencyAndShares } from "./migrations/0008_concurrency_and_shares.js"
import { addWaitingFor } from "./migrations/0009_waiting_for.js"
import { addIncarnations } from "./migrations/0010_incarnations.js"
import { addEnqueueFunction } from "./migrations/0011_enqueue_function.js"
import { addOperations } from "./migrations/0012_operations.js"
import { addFindIndexes } from "./migrations/0013_find.js"
import { addNodeKeys } from "./migrations/0014_node_keys.js"
import { addRetention } from "./migrations/0015_retention.js"
import { addTrace } from "./migrations/0016_trace.js"
import { addAttemptErrors } from "./migrations/0017_attempt_errors.js"
import type { Tables } from "./tables.js"

/** The newest schema version this code knows. Bump with every new migration file. */
export const latestVersion = 17

const migrations = (tables: Tables) => ({
  "0001_create_tasks": createTasks(tables),
  "0002_nodes_and_leases": createNodesAndLeases(tables),
  "0003_delays_and_unique_keys": addDelaysAndUniqueKeys(tables),
  "0004_queues": createQueues(tables),
  "0005_children": addChildren(tables),
  "0006_owners": addOwners(tables),
  "0007_paused": addPaused(tables),
  "0008_concurrency_and_shares": addConcurrencyAndShares(tables),
  "0009_waiting_for": addWaitingFor(tables),
  "0010_incarnations": addIncarnations(tables),
  "0011_enqueue_function": addEnqueueFunction(tables),
  "0012_operations": addOperations(tables),
  "0013_find": addFindIndexes(tables),
  "0014_node_keys": addNodeKeys(tables),
  "0015_retention": addRetention(tables),
  "0016_trace": addTrace(tables),
  "0017_attempt_errors": addAttemptErrors(tables)
})

const loader = (tables: Tables) => Migrator.fromRecord(migrations(tables))

/** The applied version: 0 when effect-tasks was never installed in this schema. */
const currentVersion = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Two statements: a query naming a missing table fails when parsed, whatever guards it.
    const found = yield* sql<{ exists: boolean }>`
      SELECT to_regclass(${tables.migrations}) IS NOT NULL AS exists`.withoutTransform
    if (found[0]?.exists !== true) return 0
    const rows = yield* sql<{ version: number }>`
      SELECT coalesce(max(migration_id), 0)::int AS version FROM ${sql(tables.migrations)}`.withoutTransform
    return rows[0]?.version ?? 0
  }).pipe(refail("migrate"))

/** Where a schema stands: the version applied, the newest this code knows, the migrations `migrate` would apply. */
export interface MigrationStatus {
  readonly schema: string
  readonly version: number
  readonly latest: number
  readonly pending: ReadonlyArray<string>
}

/** The applied version and the migrations still to apply (none when the schema is newer than this code). */
export const status = (tables: Tables) =>
  Effect.map(currentVersion(tables), (version): MigrationStatus => ({
    schema: tables.schema,
    version,
    latest: latestVersion,
    pending: Object.keys(migrations(tables)).slice(version)
  }))

/** For processes that do not migrate: the schema must be exactly the version this code knows. */
export const verifyVersion = (tables: Tables) =>
  Effect.flatMap(currentVersion(tables), (version) =>
    version === latestVersion
      ? Effect.void
      : Effect.fail(new IncompatibleSchema({ schema: tables.schema, found: version, supported: latestVersion })))

/**
 * Brings the schema up to `latestVersion`. Safe when several processes start at once: the schema
 * and the bookkeeping table are created under an advisory lock (the Migrator's own bootstrap races,
 * see cookbook §12), and the Migrator then runs pending migrations in one transaction holding an
 * exclusive lock on that table. Refuses a database whose schema is newer than this code.
 */
export const migrate = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${tables.migrations}))`
      yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(tables.schema)}`
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(tables.migrations)} (
        migration_id integer PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        name text NOT NULL
      )`
    })).pipe(refail("migrate"))
    const version = yield* currentVersion(tables)
    if (version > latestVersion) {
      return yield* new IncompatibleSchema({ schema: tables.schema, found: version, supported: latestVersion })
    }
    yield* Migrator.make({})({ loader: loader(tables), table: tables.migrations }).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(new TaskStoreError({ operation: "migrate", cause: defect }))),
      Effect.mapError((cause) => cause instanceof TaskStoreError ? cause : new TaskStoreError({ operation: "migrate", cause }))
    )
  }).pipe(Effect.withSpan("TaskStore.migrate", { attributes: { "db.schema": tables.schema } }))
