import { Effect, Metric, Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { TaskStore } from "../../TaskStore.js"
import * as metrics from "../worker/metrics.js"

export interface RescuerOptions {
  readonly store: TaskStore["Type"]
  readonly isLeader: Ref.Ref<boolean>
  readonly maxWorkerLosses: number
  readonly batchSize: number
}

/**
 * One rescue round, on the maintenance leader only: take back lapsed claims in bounded batches
 * until a batch comes back short. Returns how many tasks it took back.
 */
export const makeRescuer = (options: RescuerOptions) => {
  const batch = options.store.rescueExpired({ limit: options.batchSize, maxWorkerLosses: options.maxWorkerLosses })
  const drain = (total: number): Effect.Effect<number, TaskStoreError> =>
    Effect.flatMap(batch, (rescued) =>
      Effect.gen(function*() {
        for (const task of rescued) {
          yield* Metric.increment(Metric.tagged(metrics.rescuedTasks, "status", task.status))
        }
        if (rescued.length > 0) {
          yield* Effect.logWarning(`took back ${rescued.length} task(s) from lost workers`, rescued)
        }
        return rescued.length === options.batchSize ? yield* drain(total + rescued.length) : total + rescued.length
      }))
  const runOnce = Effect.flatMap(Ref.get(options.isLeader), (isLeader) => isLeader ? drain(0) : Effect.succeed(0))
  return runOnce
}
