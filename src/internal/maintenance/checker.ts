import { type Duration, Effect, Metric } from "effect"
import type { Store } from "../store/store.js"
import type { TaskRow } from "../store/taskRow.js"
import * as metrics from "../observability/metrics.js"
import { type Leadership, whileLeading } from "./leadership.js"

export interface CheckerOptions {
  readonly store: Store
  readonly leadership: Leadership
  readonly initializedTimeout: Duration.Duration
  readonly runningTimeout: Duration.Duration
  readonly limit: number
  readonly checkCallback: (tasks: ReadonlyArray<TaskRow>) => Effect.Effect<void>
}

/**
 * The abnormal-task check, on the maintenance leader only: find tasks waiting or running too long
 * and hand them to the user's callback (a failing callback is logged, never fatal). Returns how
 * many it found. (The child settler's stale-wait round runs just before it, so children left waiting
 * for a task that ended are freed rather than reported.)
 */
export const makeChecker = (options: CheckerOptions) =>
  whileLeading(
    options.leadership,
    Effect.gen(function*() {
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
  )
