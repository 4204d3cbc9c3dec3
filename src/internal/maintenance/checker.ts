import { type Duration, Effect, Metric } from "effect"
import type { TaskRow, TaskStore } from "../../TaskStore.js"
import * as metrics from "../worker/metrics.js"
import type { Leadership } from "./leadership.js"

export interface CheckerOptions {
  readonly store: TaskStore["Type"]
  readonly leadership: Leadership
  readonly initializedTimeout: Duration.Duration
  readonly runningTimeout: Duration.Duration
  readonly limit: number
  readonly checkCallback: (tasks: ReadonlyArray<TaskRow>) => Effect.Effect<void>
}

/** Batches of the safety net, until one comes back short; a failure is logged and the check goes on. */
const unblockAllStaleWaits = (options: CheckerOptions) =>
  Effect.gen(function*() {
    let total = 0
    for (let batch = 0; batch < 100; batch++) {
      const freed = yield* options.store.unblockStaleWaits(options.limit)
      total += freed
      if (freed < options.limit) break
    }
    if (total > 0) yield* Effect.logWarning(`${total} child task(s) were still waiting for a sibling that had ended`)
  }).pipe(Effect.catchAll((error) => Effect.logError("could not free children waiting for ended siblings", error)))

/**
 * The abnormal-task check, on the maintenance leader only: find tasks waiting or running too long
 * and hand them to the user's callback (a failing callback is logged, never fatal). Returns how
 * many it found. It first frees, in a bounded batch, children left waiting for a task that ended
 * without freeing them (the safety net under `waiting_for`), so they are not reported.
 */
export const makeChecker = (options: CheckerOptions) =>
  Effect.flatMap(options.leadership.isLeader, (isLeader) =>
    isLeader
      ? Effect.gen(function*() {
        yield* unblockAllStaleWaits(options)
        const stuck = yield* options.store.findStuck({
          initializedTimeout: options.initializedTimeout,
          runningTimeout: options.runningTimeout,
          limit: options.limit
        })
        yield* Metric.set(metrics.stuckTasks, stuck.length)
        if (stuck.length > 0) {
          yield* options.checkCallback(stuck).pipe(
            Effect.catchAllCause((cause) => Effect.logError("checkCallback failed", cause))
          )
        }
        return stuck.length
      })
      : Effect.succeed(0))
