import { Effect, Schema } from "effect"
import {
  type InvalidTaskId,
  InvalidTaskOptions,
  type SchemaNotMigrated,
  TaskStateConflict,
  type TaskStoreError
} from "../../TaskError.js"
import type { Guarded } from "../store/guarded.js"
import type { PublicStore, TaskStore } from "../store/service.js"
import { BoundedText, decodeWith, maxLength, Priority, QueueName, RunAt } from "../validation.js"
import { checkIds, withStore } from "./context.js"

/** What a guarded change can fail with. */
type ChangeError = InvalidTaskId | TaskStateConflict | SchemaNotMigrated | TaskStoreError

/** Checks the ids, runs the store's guarded change, and turns a refusal into `TaskStateConflict`. */
const guardedChange = (
  action: string,
  ids: ReadonlyArray<string>,
  change: (store: PublicStore, ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>
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

