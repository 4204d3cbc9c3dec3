import { Data, Effect, Schedule, type Tracer } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type * as TaskStatus from "../../TaskStatus.js"
import { ownLine, type Settled, settleName } from "../observability/attempt.js"
import type { Finish } from "../store/finish.js"
import type { Store } from "../store/store.js"
import type { ClaimedTask } from "../store/taskRow.js"
import * as outcome from "./outcome.js"

export interface RecorderOptions {
  /** The application's store: a transactional handler's success, in its own transaction. */
  readonly store: Store
  /** Writes the end of every other attempt (shared statements, see `completer.ts`): the status the task now has, null when stale. */
  readonly complete: (finish: Finish, settled?: Settled) => Effect.Effect<TaskStatus.TaskStatus | null, TaskStoreError>
  /** How long a finished task of this key is kept, by status (its definition's `keep`, else the worker's defaults). */
  readonly keepFor: (key: string) => Effect.Effect<Finish["keep"]>
}

/**
 * A failed finish write (database gone for a moment) is retried for about half a minute. The
 * attempt stays held (its lease renewed) meanwhile; a stop stops waiting and releases this node's claims.
 */
const finishRetry = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("3 seconds")),
  Schedule.intersect(Schedule.recurs(15))
)

/** A transactional attempt found its claim gone when recording success: its transaction rolls back. */
class ClaimLost extends Data.TaggedError("ClaimLost")<{ readonly id: string }> {
  override get message() {
    return `task ${this.id}: the claim was taken away before the attempt's transaction committed`
  }
}

/** How the executor writes the end of an attempt, guarded by its claim token. */
export const makeRecorder = (options: RecorderOptions) => {
  /** The end of an attempt as the store writes it, with how long the task is kept once it ends. */
  const finishOf = (claim: ClaimedTask, ended: outcome.Outcome) =>
    Effect.map(options.keepFor(claim.key), (keep): Finish => ({ ...outcome.toFinish(claim, ended), keep }))

  return {
    /** Records success inside the attempt's own transaction, guarded like every finish. */
    succeedInTransaction: (claim: ClaimedTask, result: string | null) =>
      Effect.flatMap(
        Effect.flatMap(finishOf(claim, { _tag: "Succeeded", result }), (finish) => options.store.finishIfClaimed([finish])),
        (applied) => applied.length === 1 ? Effect.void : Effect.fail(new ClaimLost({ id: claim.id }))
      ),

    /**
     * Writes how the attempt ended (a `settle` span linked to `span`, when tracing); succeeds with the status the
     * task now has, null when the write was stale, undefined when it could not be written.
     */
    record: (claim: ClaimedTask, ended: outcome.Outcome, timedOut: boolean, span: Tracer.Span | undefined) => {
      // In a `settle` span (the completer's, one per statement) linked to the attempt's.
      const settled: Settled | undefined = span === undefined
        ? undefined
        : { span, id: claim.id, queue: claim.queue, end: settleName[ended._tag] }
      const write = Effect.flatMap(finishOf(claim, ended), (finish) => options.complete(finish, settled))
      // The first write is not interruptible; waiting to retry it is, so a stop never hangs on a
      // database that is gone (the stop then releases this node's claims itself). Not after a
      // timeout: the deadline's interruption is still pending on this fiber and would cut the retry
      // at once (a stop then waits for it, within its own bounds).
      const retry = Effect.retry(write, finishRetry)
      const written = Effect.orElse(write, () => timedOut ? retry : Effect.interruptible(retry))
      return written.pipe(
        Effect.tap((status) =>
          status === null
            ? ownLine(Effect.logWarning("stale attempt result discarded: the task's claim changed", { outcome: ended._tag }))
            : Effect.void
        ),
        Effect.catchAll((error) =>
          Effect.as(
            ownLine(Effect.logError("could not record the end of an attempt; the task stays claimed by this node until it stops", {
              error: error.message
            })),
            undefined
          )
        ),
        Effect.catchAllCause(() => Effect.succeed(undefined))
      )
    }
  }
}
