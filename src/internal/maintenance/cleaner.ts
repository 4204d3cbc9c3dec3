import { Effect, Metric } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Retention } from "../store/clean.js"
import * as metrics from "../worker/metrics.js"
import { leaderBatches, type RoundOptions } from "./leadership.js"

/**
 * One cleaner round, on the maintenance leader only: delete finished tasks past their `retention`
 * in bounded batches until a batch comes back short, at most `maxBatches` (a large backlog is
 * worked off over several rounds). Returns how many it deleted.
 */
export const makeCleaner = (
  options: RoundOptions & { readonly retention: Retention; readonly maxBatches: number }
): Effect.Effect<number, TaskStoreError> =>
  leaderBatches(
    options,
    Effect.tap(
      options.store.deleteFinished(options.retention, options.batchSize),
      (deleted) => Metric.incrementBy(metrics.cleanedTasks, deleted)
    ),
    options.maxBatches
  )
