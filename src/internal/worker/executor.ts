import { Duration, Effect, Metric, Option, Schedule, Schema, ParseResult } from "effect"
import * as Task from "../../Task.js"
import type { TaskStore } from "../../TaskStore.js"
import type { TaskRegistry } from "../../TaskRegistry.js"
import { TaskNotFound, TaskTimeout, UndecodableTask } from "../../TaskError.js"
import type { ClaimedTask } from "../store/taskRow.js"
import * as metrics from "./metrics.js"
import * as outcome from "./outcome.js"

export interface ExecutorOptions {
  readonly store: TaskStore["Type"]
  readonly registry: TaskRegistry["Type"]
  /** The worker pool. The claimer takes one permit per claimed task; the executor releases it. */
  readonly pool: Effect.Semaphore
  /** The attempt timeout for tasks that define none. */
  readonly defaultTimeout: Duration.Duration
  /** Called after a retry is scheduled, so this process claims it when it is due (not a scan later). */
  readonly wakeAfter: (delay: Duration.Duration) => Effect.Effect<void>
}

/** A failed finish write (database gone for a moment) is retried briefly; then the lease decides. */
const finishRetry = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(5)))

/**
 * Runs one claimed attempt, records how it ended, then releases the attempt's pool permit (taken
 * by the claimer). The handler runs interruptibly (timeout, stop);
 * deciding and writing the outcome do not, so an attempt interrupted by a stop is always handed
 * back, never left `running`.
 */
export const makeExecutor = (options: ExecutorOptions) => {
  const attempt = (claim: ClaimedTask): Effect.Effect<unknown, unknown> =>
    Effect.gen(function*() {
      const entry = yield* options.registry.get(claim.key)
      const task = Option.map(entry, (found) => found.task)
      const handler = Option.flatMap(entry, (found) => found.handler)
      if (Option.isNone(task) || Option.isNone(handler)) return yield* new TaskNotFound({ key: claim.key })
      const args = yield* Schema.decodeUnknown(task.value.args)(claim.args, { errors: "all" }).pipe(
        Effect.mapError((error) =>
          new UndecodableTask({ id: claim.id, key: claim.key, issue: ParseResult.TreeFormatter.formatErrorSync(error) })
        )
      )
      const timeout = Option.getOrElse(task.value.timeout, () => options.defaultTimeout)
      const current: Task.Current = { id: claim.id, key: claim.key, attempt: claim.attempt, maxAttempts: claim.maxAttempts }
      return yield* handler.value(args).pipe(
        Effect.provideService(Task.CurrentTask, Option.some(current)),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new TaskTimeout({ id: claim.id, key: claim.key, timeoutMillis: Duration.toMillis(timeout) })
        })
      )
    })

  const nextDelay = (claim: ClaimedTask) =>
    Effect.flatMap(options.registry.get(claim.key), (entry) =>
      Option.match(entry, {
        onNone: () => Effect.succeedNone,
        onSome: ({ task }) => outcome.retryDelay(task.retry.schedule, claim.attempt)
      }))

  const record = (claim: ClaimedTask, ended: outcome.Outcome) =>
    options.store.finishIfClaimed([outcome.toFinish(claim, ended)]).pipe(
      Effect.retry(finishRetry),
      Effect.flatMap((applied) =>
        applied.length === 1
          ? Metric.increment(Metric.tagged(metrics.attemptsEnded, "outcome", ended._tag))
          : Effect.zipRight(
            Metric.increment(metrics.staleWrites),
            Effect.logWarning("stale attempt result discarded: the task's claim changed", {
              taskId: claim.id,
              outcome: ended._tag
            })
          )
      ),
      Effect.catchAll((error) =>
        Effect.logError("could not record the end of an attempt; the claim's lease will expire", {
          taskId: claim.id,
          error: error.message
        })
      )
    )

  return (claim: ClaimedTask): Effect.Effect<void> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(restore(attempt(claim)))
        const delay = exit._tag === "Failure" ? yield* nextDelay(claim) : Option.none()
        const ended = outcome.decide(claim, exit, delay)
        if (ended._tag === "Retry" || ended._tag === "Failed") {
          yield* Effect.logDebug("attempt failed", { taskId: claim.id, outcome: ended._tag })
        }
        yield* record(claim, ended)
        if (ended._tag === "Retry") yield* options.wakeAfter(ended.delay)
      })
    ).pipe(
      Effect.ensuring(options.pool.release(1)),
      Effect.withSpan("TaskManager.execute", {
        kind: "consumer",
        root: true,
        attributes: { "task.key": claim.key, "task.id": claim.id, "task.attempt": claim.attempt }
      })
    )
}
