import { Effect, Metric } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Retention } from "../store/clean.js"
import type { Store } from "../store/store.js"
import * as metrics from "../worker/metrics.js"
import { type Leadership, untilShort, whileLeading } from "./leadership.js"

export interface CleanerOptions {
  readonly store: Store
  readonly leadership: Leadership
  readonly retention: Retention
  readonly batchSize: number
  /** Batches per round at most: a large backlog is worked off over several rounds. */
  readonly maxBatches: number
}

/**
 * One cleaner round, on the maintenance leader only: delete finished tasks past their retention
 * in bounded batches until a batch comes back short (or `maxBatches`). Returns how many it deleted.
 */
export const makeCleaner = (options: CleanerOptions): Effect.Effect<number, TaskStoreError> => {
  const batch = Effect.tap(
    options.store.deleteFinished(options.retention, options.batchSize),
    (deleted) => Metric.incrementBy(metrics.cleanedTasks, deleted)
  )
  return whileLeading(options.leadership, untilShort(batch, options.batchSize, options.maxBatches))
}
