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
import * as TaskStatus from "../../TaskStatus.js"
import { checkIds, withStore } from "./context.js"
import { changeable } from "./changeable.js"
import { checkFilter, type Filter } from "./find.js"


/** What a guarded change can fail with. */
type ChangeError = InvalidTaskId | InvalidTaskOptions | TaskStateConflict | SchemaNotMigrated | TaskStoreError

/**
 * Which tasks a change applies to: ids (the whole request is refused when one is not in a state
 * the change applies to), or a `TaskAdmin.list` filter (only the tasks it matches in such a state).
 * @since 0.1.0
 * @category models
 */
export type Target = ReadonlyArray<string> | Filter

type Change = (store: PublicStore, ids: ReadonlyArray<string>) => Effect.Effect<Guarded, TaskStoreError>

/** Checks the ids, runs the store's guarded change, and turns a refusal into `TaskStateConflict`. */
const changeIds = (action: string, ids: ReadonlyArray<string>, change: Change) =>
  Effect.flatMap(checkIds(ids), (checked) =>
    Effect.flatMap(withStore((store) => change(store, checked)), ({ changed, refused }) =>
      refused.length > 0 ? Effect.fail(new TaskStateConflict({ action, tasks: refused })) : Effect.succeed(changed)))

/** The tasks a filter matches among `allowed` statuses, changed a page of 1,000 at a time (each page its own transaction). */
const changeMatching = (filter: Filter, allowed: ReadonlyArray<TaskStatus.TaskStatus>, change: Change) =>
  Effect.gen(function*() {
    const checked = yield* checkFilter(filter)
    const status = (checked.status ?? allowed).filter((one) => allowed.includes(one))
    const all: Array<string> = []
    let after: string | undefined
    for (;;) {
      const page = yield* withStore((store) => store.list({ ...checked, status }, { limit: 1000, order: "oldest", after }))
      if (page.length === 0) return all
      const ids = page.map((task) => task.id)
      // A task that changed since the page was read (ended, say) is no longer a match: left out,
      // and the rest of the page tried again (fewer each time, so this ends).
      let left = ids
      while (left.length > 0) {
        const result = yield* withStore((store) => change(store, left))
        if (result.refused.length === 0) {
          all.push(...result.changed)
          break
        }
        const refused = new Set(result.refused.map((task) => task.id))
        left = left.filter((id) => !refused.has(id))
      }
      if (page.length < 1000) return all
      after = ids[ids.length - 1]
    }
  })

const guardedChange = (
  action: string,
  target: Target,
  allowed: ReadonlyArray<TaskStatus.TaskStatus>,
  change: Change
): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  Array.isArray(target) ? changeIds(action, target as ReadonlyArray<string>, change) : changeMatching(target as Filter, allowed, change)

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
 * each with its status. With a filter, the unfinished tasks it matches.
 * @since 0.1.0
 * @category combinators
 */
export const cancel = (target: Target): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("cancel", target, changeable.cancel, (store, checked) => store.cancel(checked))

/**
 * Runs finished tasks (succeeded, failed or canceled) again: runnable at once, attempts from zero
 * (`last_error` keeps the last failure until a new one replaces it), workers woken. Returns the ids
 * rerun. Refused with `TaskStateConflict`, changing nothing, when one is unfinished or missing, or
 * when an unfinished task now holds its unique key. With a filter (`{ status: "failed",
 * finishedAfter }`: everything that failed last night), the finished tasks it matches.
 * @since 0.1.0
 * @category combinators
 */
export const rerun = (target: Target): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("rerun", target, changeable.rerun, (store, checked) => store.rerun(checked))

/**
 * Deletes tasks that are not running (cancel a running one first); the siblings that waited for
 * them may run. Returns the ids deleted. Refused with `TaskStateConflict`, changing nothing, when one
 * is running or missing. With a filter, the tasks it matches that are not running. Exported as
 * `delete` too.
 * @since 0.1.0
 * @category combinators
 */
export const remove = (target: Target): Effect.Effect<ReadonlyArray<string>, ChangeError, TaskStore> =>
  guardedChange("delete", target, changeable.delete, (store, checked) => store.remove(checked))

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
  target: Target,
  to: MoveOptions
): Effect.Effect<ReadonlyArray<string>, ChangeError | InvalidTaskOptions, TaskStore> =>
  Effect.flatMap(decodeMoveOptions(to), (checked) =>
    guardedChange("move", target, changeable.move, (store, valid) => store.move(valid, checked)))

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

