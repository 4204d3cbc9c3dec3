import { Context, Option, type Ref } from "effect"

/** What `Tasks.run` needs to know to make a task the child of the running attempt. */
export interface Attempt {
  readonly id: string
  readonly rootId: string
  readonly claimToken: string
  /** The last child this attempt submitted: the next one runs after it. */
  readonly lastChild: Ref.Ref<Option.Option<string>>
}

/** The attempt the current fiber runs as a handler, if any (set by the executor). */
export class CurrentAttempt extends Context.Reference<CurrentAttempt>()("effect-tasks/CurrentAttempt", {
  defaultValue: (): Option.Option<Attempt> => Option.none()
}) {}
