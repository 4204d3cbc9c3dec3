import { Duration, Either, Schema } from "effect"
import type * as Task from "../../Task.js"
import type { RunOptions } from "../../Tasks.js"
import { InvalidTaskOptions } from "../../TaskError.js"
import type * as insertOps from "../store/insert.js"
import { BoundedText, decodeWith, Delay, Flag, maxLength, Priority, QueueName, RunAt } from "../validation.js"

export interface Placement {
  readonly queue: string
  readonly priority: number
  readonly runAt: Date | null
  readonly delayMillis: number
  readonly uniqueKey: string | null
  readonly owner: string | null
  readonly paused: boolean
}

/** `Tasks.RunOptions`, checked (a delay decoded to a Duration). */
const RunOptionsSchema = Schema.Struct({
  queue: Schema.optional(QueueName),
  priority: Schema.optional(Priority),
  runAt: Schema.optional(RunAt),
  delay: Schema.optional(Delay),
  uniqueKey: Schema.optional(BoundedText(maxLength.uniqueKey)),
  owner: Schema.optional(BoundedText(maxLength.owner)),
  paused: Schema.optional(Flag),
  independent: Schema.optional(Flag)
})

const decodeRunOptions = decodeWith(
  RunOptionsSchema,
  (path, reason) => new InvalidTaskOptions({ option: path.join("."), reason })
)

/** Where and when the tasks go, or the first bad option. */
export const placement = (task: Task.Any, options: RunOptions): Placement | InvalidTaskOptions => {
  const decoded = decodeRunOptions(options)
  if (Either.isLeft(decoded)) return decoded.left
  const checked = decoded.right
  return {
    queue: checked.queue ?? task.queue,
    priority: checked.priority ?? task.priority,
    runAt: checked.runAt ?? null,
    delayMillis: checked.delay === undefined ? 0 : Duration.toMillis(checked.delay),
    uniqueKey: checked.uniqueKey ?? null,
    owner: checked.owner ?? null,
    paused: checked.paused ?? false
  }
}

export interface Lineage {
  readonly parentId: string | null
  readonly rootId: string | null
  readonly heldBy: string | null
}

export const noLineage: Lineage = { parentId: null, rootId: null, heldBy: null }

/** What every task of one enqueue carries from where it was enqueued (see `NewTask`). */
export interface Carried {
  readonly traceparent: string | null
  readonly context: string | null
}

/** One row per JSON text, the rest shared. */
export const newTasks = (task: Task.Any, place: Placement, lineage: Lineage, texts: ReadonlyArray<string>, carried: Carried) =>
  texts.map((args): insertOps.NewTask => ({
    key: task.key,
    queue: place.queue,
    priority: place.priority,
    args,
    maxAttempts: task.maxAttempts,
    runAt: place.runAt,
    delayMillis: place.delayMillis,
    uniqueKey: place.uniqueKey,
    owner: place.owner,
    parentId: lineage.parentId,
    rootId: lineage.rootId,
    heldBy: lineage.heldBy,
    paused: place.paused,
    traceparent: carried.traceparent,
    context: carried.context
  }))
