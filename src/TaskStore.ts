/**
 * The store operators and deploy steps use: the database schema, migrations, queue definitions,
 * pausing and resuming tasks, and reading rows (`TaskAdmin` runs on it). The worker's protocol
 * (claims, ends of attempts, heartbeats, leases, rescue) is internal to the library.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import { type Effect, Layer } from "effect"
import * as migrateOps from "./internal/store/migrate.js"
import type * as queueOps from "./internal/store/queues.js"
import * as service from "./internal/store/service.js"
import { makeStore } from "./internal/store/store.js"
import * as tablesOps from "./internal/store/tables.js"
import * as taskRow from "./internal/store/taskRow.js"
import type { InvalidTaskOptions } from "./TaskError.js"

/**
 * The database schema holding the task tables, read by producers and workers alike. Default
 * `"effect_tasks"`; set it with `layerDatabaseSchema` (or the `schema` option of `TaskManager.layer`).
 * @since 0.1.0
 * @category config
 */
export const DatabaseSchema = tablesOps.DatabaseSchema

/**
 * A queue's limits as stored (null: no limit).
 * @since 0.1.0
 * @category models
 */
export type QueueDefinition = queueOps.QueueDefinition

/**
 * A whole task row: status, attempt, due time, claim, last error and timestamps.
 * @since 0.1.0
 * @category models
 */
export const TaskRow = taskRow.TaskRow

/**
 * @since 0.1.0
 * @category models
 */
export type TaskRow = taskRow.TaskRow

/**
 * The newest schema version this release knows.
 * @since 0.1.0
 * @category models
 */
export const latestVersion = migrateOps.latestVersion

/**
 * The operators' part of the store: its schema, migrations, queue definitions, pausing and
 * resuming, and reading rows (each operation documented on the store it is taken from). Producers
 * (`Tasks.run`), the worker and `TaskAdmin` all work through the one in context.
 * @since 0.1.0
 * @category services
 */
export const TaskStore = service.TaskStore

/**
 * @since 0.1.0
 * @category services
 */
export type TaskStore = service.TaskStore

/**
 * Builds the PostgreSQL store over the `SqlClient` in context, for the given schema (default: the
 * `DatabaseSchema` in context).
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: { readonly schema?: string | undefined }) => Effect.Effect<
  TaskStore["Type"],
  InvalidTaskOptions,
  SqlClient.SqlClient
> = makeStore

/**
 * The PostgreSQL store as a Layer.
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly schema?: string | undefined } = {}) =>
  Layer.effect(TaskStore, make(options))

/**
 * Sets the database schema that producers (`Tasks.run`) and stores built from context use.
 * Fails with `InvalidTaskOptions` unless it is a plain lower-case identifier.
 * @since 0.1.0
 * @category layers
 */
export const layerDatabaseSchema = (schema: string): Layer.Layer<tablesOps.DatabaseSchema, InvalidTaskOptions> =>
  Layer.effect(DatabaseSchema, tablesOps.validateSchemaName(schema))
