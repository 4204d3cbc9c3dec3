/**
 * The operator API: see tasks and queues, and steer them. It needs only a `TaskStore` (over a
 * `SqlClient`), never a running `TaskManager`, so an admin tool or a CLI can use it on its own.
 * Every change is guarded by the task's status in the same statement. `pause` and `resume` leave a
 * task in another state alone and its id out of the result; `cancel` refuses the whole request with
 * `TaskStateConflict` when a task is finished or missing.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import { checkIds, withStore } from "./internal/admin/context.js"
import { decodeWith, PositiveInteger, QueueName } from "./internal/validation.js"
import { type InvalidTaskId, InvalidTaskOptions, type SchemaNotMigrated, type TaskStoreError } from "./TaskError.js"
import { type QueueDefinition, TaskStore, type TaskRow } from "./TaskStore.js"

/**
 * A queue's limits. Omitted limits are none.
 * @since 0.1.0
 * @category models
 */
export interface QueueOptions {
  readonly name: string
  /** Most unfinished tasks (`initialized`, `paused`, `running`): an enqueue past it fails with `QueueFull` in the caller's transaction. */
  readonly maxSize?: number | undefined
  /** Most of its tasks running at once across all nodes. Claims then take turns on a lock while any queue has such a limit. */
  readonly concurrency?: number | undefined
  /** Most of its tasks running at once on any one node. */
  readonly concurrencyPerNode?: number | undefined
}

/** `QueueOptions`, checked: a storable name, limits of at least 1. */
const QueueOptionsSchema = Schema.Struct({
  name: QueueName,
  maxSize: Schema.optional(PositiveInteger),
  concurrency: Schema.optional(PositiveInteger),
  concurrencyPerNode: Schema.optional(PositiveInteger)
})

const decodeQueueOptions = decodeWith(
  QueueOptionsSchema,
  (path, reason) => new InvalidTaskOptions({ option: path.join("."), reason })
)

/**
 * Creates a queue's definition in the database, or replaces it whole, so that every node and
 * producer agrees on it. A lower limit never stops running tasks: it holds back claims (or
 * enqueues) until the queue is under it again. Tasks may name a queue that has no definition.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskAdmin } from "effect-tasks"
 *
 * // At most 2 e-mails sent at once in the whole cluster, and at most 10,000 waiting.
 * const setup = TaskAdmin.defineQueue({ name: "email", concurrency: 2, maxSize: 10_000 })
 * ```
 * @since 0.1.0
 * @category combinators
 */
export const defineQueue = (
  queue: QueueOptions
): Effect.Effect<void, InvalidTaskOptions | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.gen(function*() {
    const checked = yield* decodeQueueOptions(queue)
    const definition: QueueDefinition = {
      name: checked.name,
      maxSize: checked.maxSize ?? null,
      concurrency: checked.concurrency ?? null,
      concurrencyPerNode: checked.concurrencyPerNode ?? null
    }
    yield* withStore((store) => store.defineQueue(definition))
  })

/**
 * Every defined queue, by name.
 * @since 0.1.0
 * @category combinators
 */
export const queues: Effect.Effect<ReadonlyArray<QueueDefinition>, SchemaNotMigrated | TaskStoreError, TaskStore> =
  withStore((store) => store.listQueues)

/**
 * One task's row: status, attempt, due time, claim, last error, lineage and timestamps.
 * @since 0.1.0
 * @category combinators
 */
export const get = (
  id: string
): Effect.Effect<Option.Option<TaskRow>, InvalidTaskId | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.map(getMany([id]), (rows) => Option.fromNullable(rows[0]))

/**
 * The rows of these tasks, in id order; unknown ids are left out.
 * @since 0.1.0
 * @category combinators
 */
export const getMany = (
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<TaskRow>, InvalidTaskId | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.flatMap(checkIds(ids), (checked) => withStore((store) => store.getMany(checked)))

export {
  /**
   * `remove`, under the name operators look for.
   * @since 0.1.0
   * @category combinators
   */
  remove as delete
} from "./internal/admin/act.js"
export { cancel, move, type MoveOptions, pause, remove, rerun, resume, type Target } from "./internal/admin/act.js"
export { count, type Filter, list, type ListOptions, stats, type TaskPage } from "./internal/admin/find.js"
export type { QueueStats } from "./internal/store/find.js"
export { explain, type Explanation, type Reason } from "./internal/admin/explain.js"
export { results, type TaskResult } from "./internal/admin/results.js"
export { type Verification, verify } from "./internal/admin/verify.js"
export { clean, type Cleaned, lastHour, migrationStatus, nodes } from "./internal/admin/console.js"
export type { MinuteView, NodeView } from "./internal/store/console.js"
export type { MigrationStatus } from "./internal/store/migrate.js"
