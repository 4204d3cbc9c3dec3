import { Context, type Duration, type Effect, Option } from "effect"
import type * as Task from "../Task.js"
import type { TaskStoreError } from "../TaskError.js"

/**
 * How an attempt's handler ended, besides its Exit: written by the deadline watcher and by
 * `Task.snooze` just before they interrupt the handler, read once the handler has ended.
 */
export interface AttemptEnd {
  /** The timeout, in milliseconds, when the attempt's deadline passed and interrupted the handler. */
  timedOutAfter: number | undefined
  /** Set by `Task.snooze`: run the task again after this long, without counting the attempt. */
  snoozedFor: Duration.Duration | undefined
}

export const makeAttemptEnd = (): AttemptEnd => ({ timedOutAfter: undefined, snoozedFor: undefined })

/** What `Tasks.run` needs to know to make a task the child of the running attempt. */
export interface Attempt {
  readonly id: string
  /** The definition it runs. */
  readonly task: Task.Any
  readonly rootId: string
  readonly claimToken: string
  /** One submission of children at a time per attempt, so their order is the order submitted. */
  readonly submitting: Effect.Semaphore
  readonly end: AttemptEnd
  /** The task's checkpoint (encoded) when this attempt was claimed; null when it had none. */
  readonly checkpoint: unknown
  /** Stores the attempt's checkpoint and progress (JSON texts; null leaves one as it is), fenced by its claim. */
  readonly save: (state: { readonly checkpoint: string | null; readonly progress: string | null }) => Effect.Effect<void, TaskStoreError>
}

/** The attempt the current fiber runs as a handler, if any (set by the executor). */
export class CurrentAttempt extends Context.Reference<CurrentAttempt>()("effect-tasks/CurrentAttempt", {
  defaultValue: (): Option.Option<Attempt> => Option.none()
}) {}
