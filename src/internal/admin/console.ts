import { Effect } from "effect"
import type { SchemaNotMigrated, TaskStoreError } from "../../TaskError.js"
import type { MinuteView, NodeView } from "../store/console.js"
import type { MigrationStatus } from "../store/migrate.js"
import { TaskStore } from "../store/service.js"
import { tuning } from "../config/settings.js"
import { untilShort } from "../maintenance/leadership.js"
import { withStore } from "./context.js"

/**
 * Every registered node (a worker's `TaskManager`), by id: host and pid, when it started and last
 * beat, whether it is live (its heartbeat within its node timeout) and leads maintenance, the task
 * keys it runs and how many attempts it runs now. Nodes silent for an hour are forgotten.
 * @since 0.1.0
 * @category combinators
 */
export const nodes: Effect.Effect<ReadonlyArray<NodeView>, SchemaNotMigrated | TaskStoreError, TaskStore> =
  withStore((store) => store.nodes)

/**
 * Where the schema stands: the version applied (0: never migrated), the newest this code knows,
 * and the names of the migrations `TaskStore.migrate` would apply.
 * @since 0.1.0
 * @category combinators
 */
export const migrationStatus: Effect.Effect<MigrationStatus, TaskStoreError, TaskStore> = Effect.flatMap(
  TaskStore,
  (store) => store.migrationStatus
)

/**
 * What a clean deleted, or (`dryRun`) would delete: finished tasks past their retention.
 * @since 0.1.0
 * @category models
 */
export interface Cleaned {
  readonly expired: number
  readonly deleted: number
}

/**
 * Deletes now the finished tasks whose retention has passed (what the maintenance leader's cleaner
 * does every `checkInterval`), in bounded statements until none is left; with `dryRun`, only
 * counts them. A task whose attempt still holds children waits for them to be settled.
 * @since 0.1.0
 * @category combinators
 */
export const clean = (
  options: { readonly dryRun?: boolean | undefined } = {}
): Effect.Effect<Cleaned, SchemaNotMigrated | TaskStoreError, TaskStore> =>
  withStore((store) =>
    Effect.gen(function*() {
      const expired = yield* store.countExpired
      if (options.dryRun === true || expired === 0) return { expired, deleted: 0 }
      const deleted = yield* untilShort(store.deleteExpired(tuning.cleanBatchSize), tuning.cleanBatchSize, Infinity)
      return { expired, deleted }
    })
  )

/**
 * The last hour, minute by minute (sixty entries, the current minute last): tasks that succeeded
 * and failed in each, attempts started and their mean wait from due time to start. Read from the
 * indexes of finish and start times (a task counts once, by its latest attempt).
 * @since 0.1.0
 * @category combinators
 */
export const lastHour: Effect.Effect<ReadonlyArray<MinuteView>, SchemaNotMigrated | TaskStoreError, TaskStore> =
  withStore((store) => store.lastHour)
