import { Context, type Duration, type Effect, Option, type Ref } from "effect"

/** What `Tasks.run` needs to know to make a task the child of the running attempt. */
export interface Attempt {
  readonly id: string
  readonly rootId: string
  readonly claimToken: string
  /** One submission of children at a time per attempt, so their order is the order submitted. */
  readonly submitting: Effect.Semaphore
  /** Set by `Task.snooze` before it interrupts the handler: run the task again after this long. */
  readonly snoozed: Ref.Ref<Option.Option<Duration.Duration>>
}

/** The attempt the current fiber runs as a handler, if any (set by the executor). */
export class CurrentAttempt extends Context.Reference<CurrentAttempt>()("effect-tasks/CurrentAttempt", {
  defaultValue: (): Option.Option<Attempt> => Option.none()
}) {}
