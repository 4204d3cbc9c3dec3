import { Duration, Option } from "effect"
import type * as Task from "../../Task.js"
import type { RunOptions } from "../../Tasks.js"
import { InvalidTaskOptions } from "../../TaskError.js"
import type * as insertOps from "../store/insert.js"
import { boundedTextProblem, delayProblem, maxLength, priorityProblem, queueProblem, runAtProblem } from "../policy.js"

export interface Placement {
  readonly queue: string
  readonly priority: number
  readonly runAt: Date | null
  readonly delayMillis: number
  readonly uniqueKey: string | null
  readonly owner: string | null
  readonly paused: boolean
}

const invalidOption = (option: string, reason: string) => new InvalidTaskOptions({ option, reason })

/** Where and when the tasks go, or the first bad option. Plain code: it runs on every enqueue. */
export const placement = (task: Task.Any, options: RunOptions): Placement | InvalidTaskOptions => {
  const queue = options.queue ?? task.queue
  const queueIssue = queueProblem(queue)
  if (queueIssue !== undefined) return invalidOption("queue", queueIssue)
  const priority = options.priority ?? task.priority
  const priorityIssue = priorityProblem(priority)
  if (priorityIssue !== undefined) return invalidOption("priority", priorityIssue)
  const runAtIssue = options.runAt === undefined ? undefined : runAtProblem(options.runAt)
  if (runAtIssue !== undefined) return invalidOption("runAt", runAtIssue)
  const delayMillis = options.delay === undefined
    ? 0
    : Option.match(Duration.decodeUnknown(options.delay), { onNone: () => Number.NaN, onSome: Duration.toMillis })
  const delayIssue = options.delay === undefined
    ? undefined
    : delayProblem(options.delay, delayMillis)
  if (delayIssue !== undefined) return invalidOption("delay", delayIssue)
  for (const option of ["uniqueKey", "owner"] as const) {
    const value = options[option]
    if (value === undefined) continue
    const issue = boundedTextProblem(value, maxLength[option])
    if (issue !== undefined) return invalidOption(option, issue)
  }
  for (const option of ["paused", "independent"] as const) {
    const value = options[option]
    if (value !== undefined && typeof value !== "boolean") return invalidOption(option, "must be a boolean")
  }
  return {
    queue,
    priority,
    runAt: options.runAt ?? null,
    delayMillis,
    uniqueKey: options.uniqueKey ?? null,
    owner: options.owner ?? null,
    paused: options.paused ?? false
  }
}

export interface Lineage {
  readonly parentId: string | null
  readonly rootId: string | null
  readonly heldBy: string | null
}

export const noLineage: Lineage = { parentId: null, rootId: null, heldBy: null }

/** One row per JSON text, the rest shared. */
export const newTasks = (task: Task.Any, place: Placement, lineage: Lineage, texts: ReadonlyArray<string>) =>
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
    paused: place.paused
  }))
