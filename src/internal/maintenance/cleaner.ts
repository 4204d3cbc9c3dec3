import { Effect, Metric } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import * as metrics from "../observability/metrics.js"
import { leaderBatches, type RoundOptions } from "./leadership.js"

/**
 * One cleaner round, on the maintenance leader only: delete finished tasks whose retention has
 * passed, in bounded batches until a batch comes back short, at most `maxBatches` (a large backlog
 * is worked off over several rounds). Returns how many it deleted.
 */
export const makeCleaner = (options: RoundOptions & { readonly maxBatches: number }): Effect.Effect<number, TaskStoreError> =>
  leaderBatches(
    options,
    Effect.tap(options.store.deleteExpired(options.batchSize), (deleted) => Metric.incrementBy(metrics.cleanedTasks, deleted)),
    options.maxBatches
  )
