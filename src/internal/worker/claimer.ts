import { Duration, Effect, FiberSet, Metric, Queue, Random } from "effect"
import type { TaskRegistry } from "../../TaskRegistry.js"
import type { TaskStoreError } from "../../TaskError.js"
import type { TaskStore } from "../../TaskStore.js"
import type { ClaimedTask } from "../store/taskRow.js"
import * as metrics from "./metrics.js"

export interface ClaimerOptions {
  readonly store: TaskStore["Type"]
  readonly registry: TaskRegistry["Type"]
  readonly pool: Effect.Semaphore
  readonly poolSize: number
  readonly claimBatchSize: number
  readonly nodeId: string
  readonly leaseDuration: Duration.Duration
  readonly scanInterval: Duration.Duration
  /** Where executors run: the manager waits for this set when it stops. */
  readonly running: FiberSet.FiberSet<void>
  readonly execute: (claim: ClaimedTask) => Effect.Effect<void>
  /** Signals that work may be waiting (NOTIFY, new handlers). Coalesced: a sliding queue of one. */
  readonly wakeups: Queue.Queue<void>
}

export interface ClaimResult {
  readonly claimed: number
  readonly limit: number
}

export const makeClaimer = (options: ClaimerOptions) => {
  /**
   * Claims as many tasks as there are free slots (up to the batch size) and starts them. The caller
   * holds one pool permit already. Uninterruptible: a stop must never fall between the claim and
   * the start of its executors, or claimed rows would have no one to finish them.
   */
  const runOnce: Effect.Effect<ClaimResult, TaskStoreError> = Effect.uninterruptible(Effect.gen(function*() {
    const busy = yield* FiberSet.size(options.running)
    const limit = Math.max(1, Math.min(options.claimBatchSize, options.poolSize - busy))
    const keys = yield* options.registry.runnableKeys
    const claims = yield* options.store.claim({
      keys,
      limit,
      nodeId: options.nodeId,
      leaseDuration: options.leaseDuration
    })
    if (claims.length === 0) {
      yield* options.pool.release(1)
      return { claimed: 0, limit }
    }
    // One permit is already ours; the others are free (limit never exceeds the free slots).
    if (claims.length > 1) yield* options.pool.take(claims.length - 1)
    for (const claim of claims) {
      // Forked from an uninterruptible region, a child would inherit it: make the handler interruptible again.
      yield* FiberSet.run(options.running, Effect.interruptible(options.execute(claim)))
    }
    yield* Metric.incrementBy(metrics.tasksClaimed, claims.length)
    return { claimed: claims.length, limit }
  }))

  const jitteredScanInterval = Effect.map(
    Random.nextRange(1, 1.2),
    (factor) => Duration.millis(Duration.toMillis(options.scanInterval) * factor)
  )

  const waitForWork = Effect.flatMap(
    jitteredScanInterval,
    (interval) => Effect.timeoutOption(Queue.take(options.wakeups), interval)
  )

  /**
   * Waits for a free slot, claims, and then either goes again at once (a full batch: more work is
   * likely waiting) or waits for a wake-up or the safety scan interval, whichever comes first.
   */
  const loop = Effect.forever(Effect.gen(function*() {
    yield* options.pool.take(1)
    const result = yield* runOnce.pipe(
      Effect.catchAllCause((cause) =>
        Effect.zipRight(
          Effect.logWarning("claim failed; retrying after the scan interval", cause),
          Effect.as(options.pool.release(1), { claimed: 0, limit: 1 })
        )
      )
    )
    if (result.claimed < result.limit) yield* waitForWork
  })).pipe(Effect.annotateLogs({ module: "TaskManager", fiber: "claimer" }))

  return { runOnce, loop }
}
