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
import type { Guarded } from "./internal/store/guarded.js"
import { BoundedText, decodeWith, maxLength, PositiveInteger, Priority, QueueName, RunAt } from "./internal/validation.js"
import { refailUnmigrated } from "./internal/store/refail.js"
import {
  InvalidTaskId,
  InvalidTaskOptions,
  type SchemaNotMigrated,
  TaskStateConflict,
  type TaskStoreError
} from "./TaskError.js"
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

/** Runs a store operation; missing tables mean nothing has migrated the schema yet, which the error says. */
const withStore = <A>(operation: (store: TaskStore["Type"]) => Effect.Effect<A, TaskStoreError>) =>
  Effect.flatMap(TaskStore, (store) => refailUnmigrated(store.schema)(operation(store)))

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

const idPattern = /^[1-9][0-9]{0,18}$/
const maxId = 2n ** 63n - 1n

const isTaskId = (id: unknown): boolean => typeof id === "string" && idPattern.test(id) && BigInt(id) <= maxId

const checkIds = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, InvalidTaskId> => {
  const bad = ids.find((id) => !isTaskId(id))
  return bad === undefined ? Effect.succeed(ids) : Effect.fail(new InvalidTaskId({ id: String(bad) }))
}

/** What a guarded change can fail with. */
type ChangeError = InvalidTaskId | TaskStateConflict | SchemaNotMigrated | TaskStoreError

/** Checks the ids, runs the store's guarded change, and turns a refusal into `TaskStateConflict`. */
const guardedChange = (
  action: string,
  ids: ReadonlyArray<string>,
  change: (store: TaskStore["Type"], ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>
): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  Effect.flatMap(checkIds(ids), (checked) =>
    Effect.flatMap(withStore((store) => change(store, checked)), ({ changed, refused }) =>
      refused.length > 0 ? Effect.fail(new TaskStateConflict({ action, tasks: refused })) : Effect.succeed(changed)))

/**
 * Pauses tasks: no worker claims them until `resume`. A waiting one (`initialized`) becomes
 * `paused` at once; a running one is interrupted by its node (as by `cancel`) and then kept
 * `paused`, the interrupted attempt not counted. Returns the ids changed; a task in another state
 * (finished, already paused) is left alone.
 * @since 0.1.0
 * @category combinators
 */
export const pause = (
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string>, InvalidTaskId | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.flatMap(checkIds(ids), (checked) => withStore((store) => store.pause(checked)))

/**
 * Cancels tasks. A waiting or paused task becomes `canceled` at once, and so do its waiting or
 * paused descendants (children follow their parent); siblings that waited for it may run. A
 * running task's node is told (NOTIFY, with its next heartbeat as the backup) and interrupts the
 * handler, whose finalizers run; the attempt's end then records `canceled`, unless the handler
 * succeeded or failed for good first: exactly one of those outcomes stands. A running task whose
 * node is gone is canceled by the rescuer once its lease lapses. Returns the ids changed (canceled,
 * or asked to stop). When an id is finished or missing, nothing is changed and the error names
 * each with its status.
 * @since 0.1.0
 * @category combinators
 */
export const cancel = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("cancel", ids, (store, checked) => store.cancel(checked))

/**
 * Runs finished tasks (succeeded, failed or canceled) again: runnable at once, attempts from zero
 * (`last_error` keeps the last failure until a new one replaces it), workers woken. Returns the ids
 * rerun. Refused with `TaskStateConflict`, changing nothing, when one is unfinished or missing, or
 * when an unfinished task now holds its unique key.
 * @since 0.1.0
 * @category combinators
 */
export const rerun = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("rerun", ids, (store, checked) => store.rerun(checked))

/**
 * Deletes tasks that are not running (cancel a running one first); the siblings that waited for
 * them may run. Returns the ids deleted. Refused with `TaskStateConflict`, changing nothing, when one
 * is running or missing. Exported as `delete` too.
 * @since 0.1.0
 * @category combinators
 */
export const remove = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("delete", ids, (store, checked) => store.remove(checked))

export {
  /**
   * `remove`, under the name operators look for.
   * @since 0.1.0
   * @category combinators
   */
  remove as delete
}

/**
 * Where `move` puts waiting tasks. Fields left out stay as they are; `owner: null` clears the owner.
 * @since 0.1.0
 * @category models
 */
export interface MoveOptions {
  readonly queue?: string | undefined
  readonly priority?: number | undefined
  readonly owner?: string | null | undefined
  readonly runAt?: Date | undefined
}

const decodeMoveOptions = decodeWith(
  Schema.Struct({
    queue: Schema.optional(QueueName),
    priority: Schema.optional(Priority),
    owner: Schema.optional(Schema.NullOr(BoundedText(maxLength.owner))),
    runAt: Schema.optional(RunAt)
  }),
  (path, reason) => new InvalidTaskOptions({ option: path.join("."), reason })
)

/**
 * Moves waiting or paused tasks to another queue, priority, owner or due time, and wakes the
 * workers. Returns the ids moved. Options are checked as `Tasks.run` checks them
 * (`InvalidTaskOptions`); a running, finished or missing task refuses the request with
 * `TaskStateConflict`, changing nothing. A queue's size limit is not checked by a move.
 * @since 0.1.0
 * @category combinators
 */
export const move = (
  ids: ReadonlyArray<string>,
  to: MoveOptions
): Effect.Effect<ReadonlyArray<string>, ChangeError | InvalidTaskOptions, TaskStore> =>
  Effect.flatMap(decodeMoveOptions(to), (checked) => guardedChange("move", ids, (store, valid) => store.move(valid, checked)))

/**
 * Starts paused tasks (`paused` → `initialized`), including those enqueued with `paused: true`,
 * and wakes the workers. Returns the ids resumed; a task that is not paused is left alone.
 * @since 0.1.0
 * @category combinators
 */
export const resume = (
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string>, InvalidTaskId | SchemaNotMigrated | TaskStoreError, TaskStore> =>
  Effect.flatMap(checkIds(ids), (checked) => withStore((store) => store.resumePaused(checked)))

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
