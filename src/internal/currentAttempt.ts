import { Context, type Duration, type Effect, Option } from "effect"

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
  readonly rootId: string
  readonly claimToken: string
  /** One submission of children at a time per attempt, so their order is the order submitted. */
  readonly submitting: Effect.Semaphore
  readonly end: AttemptEnd
}

/** The attempt the current fiber runs as a handler, if any (set by the executor). */
export class CurrentAttempt extends Context.Reference<CurrentAttempt>()("effect-tasks/CurrentAttempt", {
  defaultValue: (): Option.Option<Attempt> => Option.none()
}) {}
