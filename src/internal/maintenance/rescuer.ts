import { Effect, Metric } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import * as TaskStatus from "../../TaskStatus.js"
import * as metrics from "../observability/metrics.js"
import { leaderBatches, type RoundOptions } from "./leadership.js"

export interface RescuerOptions extends RoundOptions {
  readonly maxWorkerLosses: number
}

/**
 * One rescue round, on the maintenance leader only: take back lapsed claims (their lease or
 * deadline passed) in bounded batches until a batch comes back short; a task that lost its worker
 * `maxWorkerLosses` times in a row fails as poison. Returns how many tasks it took back.
 */
export const makeRescuer = (options: RescuerOptions): Effect.Effect<number, TaskStoreError> => {
  const batch = Effect.flatMap(
    options.store.rescueExpired({ limit: options.batchSize, maxWorkerLosses: options.maxWorkerLosses }),
    (rescued) =>
      Effect.gen(function*() {
        for (const task of rescued) {
          const counted = metrics.forTask(task.key, task.queue)
          yield* Metric.increment(counted.rescued)
          // A running task an operator canceled, whose node died: canceled now.
          if (task.status === TaskStatus.canceled) yield* Metric.increment(counted.canceled)
        }
        if (rescued.length > 0) {
          yield* Effect.logWarning(`took back ${rescued.length} task(s) from lost workers`, rescued)
        }
        return rescued.length
      })
  )
  // Every lapsed claim in one round, however many batches that takes.
  return leaderBatches(options, batch, Number.POSITIVE_INFINITY)
}
