/**
 * The life cycle of a task row: the status names, which of them are final, and which moves between
 * them are legal. The same set is enforced by a CHECK constraint on the `tasks` table.
 *
 * ```
 * paused ◄─pause / resume─► initialized ──claim──► running ──success──────────────► succeeded
 *                                ▲                    │ ──failure, no attempts left─► failed
 *                                └──retry / release───┘ ──canceled by an operator──► canceled
 * ```
 *
 * A waiting or paused task can be canceled at once; a running one when its node stops it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Waiting to be claimed: new, waiting for a retry, or handed back by a stopping worker.
 * @since 0.1.0
 * @category models
 */
export const initialized = "initialized" as const

/**
 * Waiting, but never claimed until an operator resumes it: created paused (`paused: true` on
 * enqueue) or paused while it waited. Unfinished: it keeps its unique key and counts towards its
 * queue's size.
 * @since 0.1.0
 * @category models
 */
export const paused = "paused" as const

/**
 * Claimed by one worker, which holds its claim token.
 * @since 0.1.0
 * @category models
 */
export const running = "running" as const

/**
 * The handler's last attempt succeeded. Final.
 * @since 0.1.0
 * @category models
 */
export const succeeded = "succeeded" as const

/**
 * No attempt succeeded and none is left, or the row can no longer be run (its arguments no longer
 * decode). Final until an operator reruns it.
 * @since 0.1.0
 * @category models
 */
export const failed = "failed" as const

/**
 * An operator canceled it: waiting, or running (its handler was interrupted). Final until an
 * operator reruns it.
 * @since 0.1.0
 * @category models
 */
export const canceled = "canceled" as const

/**
 * Every status a task row can hold.
 * @since 0.1.0
 * @category models
 */
export const TaskStatus = Schema.Literal(initialized, paused, running, succeeded, failed, canceled)

/**
 * @since 0.1.0
 * @category models
 */
export type TaskStatus = typeof TaskStatus.Type

/**
 * The statuses a task never leaves by itself.
 * @since 0.1.0
 * @category models
 */
export const terminal: ReadonlySet<TaskStatus> = new Set([succeeded, failed, canceled])

/**
 * The final statuses, as a list (for SQL).
 * @since 0.1.0
 * @category models
 */
export const ended: ReadonlyArray<TaskStatus> = [succeeded, failed, canceled]

/**
 * The statuses of a task that has not ended: it holds its unique key, counts towards its queue's
 * size, and a sibling submitted after it waits for it.
 * @since 0.1.0
 * @category models
 */
export const unfinished: ReadonlyArray<TaskStatus> = [initialized, paused, running]

/**
 * Whether a status is final.
 * @since 0.1.0
 * @category guards
 */
export const isTerminal = (status: TaskStatus): boolean => terminal.has(status)

/**
 * The legal moves, as data: `transitions[from]` lists every status a task in `from` may move to.
 * `initialized ⇄ paused` is an operator's pause and resume. `running → initialized` is a retry (attempt counted) or a release by a stopping worker (not counted).
 * @since 0.1.0
 * @category models
 */
export const transitions: { readonly [From in TaskStatus]: ReadonlyArray<TaskStatus> } = {
  initialized: [running, paused, canceled],
  paused: [initialized, canceled],
  running: [succeeded, failed, initialized, canceled],
  succeeded: [],
  failed: [],
  canceled: []
}

/**
 * Whether moving from `from` to `to` is legal.
 * @since 0.1.0
 * @category guards
 */
export const canTransition = (from: TaskStatus, to: TaskStatus): boolean => transitions[from].includes(to)
