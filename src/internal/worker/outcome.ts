import { Cause, Clock, Data, Duration, Effect, Exit, Option, type Schedule, ScheduleDecision, ScheduleIntervals } from "effect"
import type { ClaimedTask } from "../store/taskRow.js"
import { isTaskError, TaskNotFound, UndecodableTask } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { Finish } from "../store/finish.js"

/** How one claimed attempt ended, as decided from its Exit. */
export type Outcome =
  /** `result`: what the handler returned, as JSON text (null when the definition declares no success Schema). */
  | { readonly _tag: "Succeeded"; readonly result: string | null }
  | { readonly _tag: "Retry"; readonly delay: Duration.Duration; readonly error: string }
  | { readonly _tag: "Failed"; readonly error: string }
  /** Interrupted by a stopping worker (or claimed by a node without the handler): runnable again, not counted. */
  | { readonly _tag: "Released" }
  /** The handler asked to run again later (`Task.snooze`): not counted, no error. */
  | { readonly _tag: "Snoozed"; readonly delay: Duration.Duration }

/** Failures that must not be retried: retrying cannot change them. */
const isPermanent = (error: unknown): boolean => error instanceof UndecodableTask

/**
 * A task claimed ahead that waited too long for a handler slot: it is handed back unstarted, since
 * its deadline, counted from the claim, would no longer leave its handler the whole timeout.
 */
export class WaitedTooLong extends Data.TaggedError("WaitedTooLong")<{ readonly waitedMillis: number }> {}

/** A failure that means "this process should not run it": hand it back untouched. */
const isNotRunnableHere = (error: unknown): boolean => error instanceof TaskNotFound || error instanceof WaitedTooLong

const maxErrorLength = 16_384

/** What `decide` reads of the attempt. */
export type AttemptNumber = Pick<ClaimedTask, "attempt" | "maxAttempts">

const describe = (claim: AttemptNumber, cause: Cause.Cause<unknown>): string => {
  // PostgreSQL text cannot hold NUL: an error message carrying one would make the finish write fail forever.
  const text = `attempt ${claim.attempt}/${claim.maxAttempts}: ${Cause.pretty(cause, { renderErrorCause: true })}`
    .replaceAll("\u0000", "\\0")
  return text.length > maxErrorLength ? `${text.slice(0, maxErrorLength)}\n… (truncated)` : text
}

/**
 * The one place where retry, timeout, snooze and stop are decided. Pure: `retryDelay` is the wait
 * the task's schedule gives before the next attempt (None when the schedule is exhausted),
 * `isStopping` says whether the worker itself interrupted the attempt, and `snoozed` is the delay
 * `Task.snooze` asked for before it interrupted the handler. Only then is an interruption a
 * hand-back or a snooze; a handler that interrupts itself otherwise has failed its attempt.
 */
export const decide = (
  claim: AttemptNumber,
  exit: Exit.Exit<string | null, unknown>,
  retryDelay: Option.Option<Duration.Duration>,
  isStopping: boolean,
  snoozed: Option.Option<Duration.Duration> = Option.none()
): Outcome => {
  if (Exit.isSuccess(exit)) return { _tag: "Succeeded", result: exit.value }
  const cause = exit.cause
  if (Option.isSome(snoozed) && Cause.isInterruptedOnly(cause)) return { _tag: "Snoozed", delay: snoozed.value }
  if (isStopping && Cause.isInterruptedOnly(cause)) return { _tag: "Released" }
  const failures = Array.from(Cause.failures(cause))
  if (failures.some(isNotRunnableHere)) return { _tag: "Released" }
  const error = describe(claim, cause)
  if (failures.some(isPermanent) || claim.attempt >= claim.maxAttempts || Option.isNone(retryDelay)) {
    return { _tag: "Failed", error }
  }
  return { _tag: "Retry", delay: retryDelay.value, error }
}

/**
 * The delay before the next attempt after a failed `attempt`, by the task's retry policy: None
 * when the policy's `while` refuses one of the handler's own failures (the library's errors,
 * timeouts and defects are not its to judge) or the schedule has ended.
 */
export const retryAfter = (
  retry: { readonly schedule: Schedule.Schedule<unknown, number>; readonly while: (error: any) => boolean },
  attempt: number,
  cause: Cause.Cause<unknown>
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Array.from(Cause.failures(cause)).some((error) => !isTaskError(error) && !retry.while(error))
    ? Effect.succeedNone
    : retryDelay(retry.schedule, attempt)

/**
 * The delay the schedule gives before retry number `retry` (1-based), found by stepping it from
 * the current time as if each earlier delay had been waited. None when the schedule ends first.
 * Stepping, unlike running the schedule, never sleeps, so the delay is stored as the row's
 * `run_at` and the worker's slot is free meanwhile.
 */
export const retryDelay = (
  schedule: Schedule.Schedule<unknown, number>,
  retry: number
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.gen(function*() {
    let now = yield* Clock.currentTimeMillis
    let state = schedule.initial
    let delay = 0
    for (let n = 1; n <= retry; n++) {
      const [next, , decision] = yield* schedule.step(now, n, state)
      if (ScheduleDecision.isDone(decision)) return Option.none()
      const start = ScheduleIntervals.start(decision.intervals)
      delay = Math.max(0, start - now)
      now = Math.max(now, start)
      state = next
    }
    return Option.some(Duration.millis(delay))
  })

const statusOf: { readonly [Tag in Outcome["_tag"]]: TaskStatus.TaskStatus } = {
  Succeeded: TaskStatus.succeeded,
  Retry: TaskStatus.initialized,
  Failed: TaskStatus.failed,
  Released: TaskStatus.initialized,
  Snoozed: TaskStatus.initialized
}

/** The store write that records an outcome under the attempt's claim. */
export const toFinish = (claim: Pick<ClaimedTask, "id" | "claimToken">, outcome: Outcome): Finish => ({
  id: claim.id,
  claimToken: claim.claimToken,
  status: statusOf[outcome._tag],
  delayMillis: outcome._tag === "Retry" || outcome._tag === "Snoozed"
    ? Duration.toMillis(outcome.delay)
    : outcome._tag === "Released"
    ? null
    : 0,
  error: outcome._tag === "Retry" || outcome._tag === "Failed" ? outcome.error : null,
  countsAsAttempt: outcome._tag !== "Released" && outcome._tag !== "Snoozed",
  keepsChildren: outcome._tag === "Succeeded" || outcome._tag === "Snoozed",
  result: outcome._tag === "Succeeded" ? outcome.result : null
})
