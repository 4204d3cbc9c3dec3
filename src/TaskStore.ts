/**
 * The store operators and deploy steps use: the database schema, migrations, queue definitions,
 * pausing and resuming tasks, and reading rows (`TaskAdmin` runs on it). The worker's protocol
 * (claims, ends of attempts, heartbeats, leases, rescue) is internal to the library.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import { Context, type Effect, Layer } from "effect"
import * as migrateOps from "./internal/store/migrate.js"
import type * as queueOps from "./internal/store/queues.js"
import { makeStore } from "./internal/store/store.js"
import * as tablesOps from "./internal/store/tables.js"
import * as taskRow from "./internal/store/taskRow.js"
import type { IncompatibleSchema, InvalidTaskOptions, TaskStoreError } from "./TaskError.js"

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
 * @since 0.1.0
 * @category services
 */
export class TaskStore extends Context.Tag("effect-tasks/TaskStore")<TaskStore, {
  /** The database schema this store works in. */
  readonly schema: string
  /** Applies pending migrations (safe under concurrent starts); fails on a schema newer than this code. */
  readonly migrate: Effect.Effect<void, TaskStoreError | IncompatibleSchema>
  /** Fails with `IncompatibleSchema` unless the database schema is exactly the version this code knows. */
  readonly verifyVersion: Effect.Effect<void, TaskStoreError | IncompatibleSchema>
  /** Creates a queue's definition or replaces it whole. */
  readonly defineQueue: (queue: QueueDefinition) => Effect.Effect<void, TaskStoreError>
  /** Every defined queue, by name. */
  readonly listQueues: Effect.Effect<ReadonlyArray<QueueDefinition>, TaskStoreError>
  /** Pauses tasks that wait (`initialized`); returns the ids paused (others were not waiting). */
  readonly pauseWaiting: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /** Makes `paused` tasks runnable and wakes workers; returns the ids resumed (others were not paused). */
  readonly resumePaused: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, TaskStoreError>
  /** The rows with the given ids, in id order. */
  readonly getMany: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
  /** The newest `limit` rows, newest first. */
  readonly listRecent: (limit: number) => Effect.Effect<ReadonlyArray<TaskRow>, TaskStoreError>
}>() {}

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
