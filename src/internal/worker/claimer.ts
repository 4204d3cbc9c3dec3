import { Duration, Effect, FiberMap, Metric, Option, Queue, Random, type Ref } from "effect"
import type { SchedulingPolicy } from "../../SchedulingPolicy.js"
import type { TaskRegistry } from "../../TaskRegistry.js"
import type { TaskStoreError } from "../../TaskError.js"
import type { Incarnation, TaskStore } from "../../TaskStore.js"
import type { ClaimedTask } from "../store/taskRow.js"
import * as metrics from "./metrics.js"
import { type HealthBoard, recordFailure, recordSuccess } from "./supervisor.js"

export interface ClaimerOptions {
  readonly store: TaskStore["Type"]
  readonly registry: TaskRegistry["Type"]
  readonly pool: Effect.Semaphore
  readonly poolSize: number
  readonly claimBatchSize: number
  readonly nodeId: string
  /** This process's incarnation of the node; None (claim nothing) while another live process holds the id. */
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
  /** A claim's lease; the heartbeat renews it while the attempt runs. */
  readonly leaseDuration: Duration.Duration
  /** The attempt timeout of tasks that define none. */
  readonly defaultTimeout: Duration.Duration
  /** Added to an attempt's timeout to make its deadline, after which any node may rescue it. */
  readonly deadlineGrace: Duration.Duration
  readonly scanInterval: Duration.Duration
  readonly policy: SchedulingPolicy
  /** Where executors run, by claim token: the heartbeat renews these claims and stops lost ones. */
  readonly running: FiberMap.FiberMap<string, void, never>
  readonly execute: (claim: ClaimedTask) => Effect.Effect<void>
  /** Signals that work may be waiting (NOTIFY, new handlers). Coalesced: a sliding queue of one. */
  readonly wakeups: Queue.Queue<void>
  readonly board: HealthBoard
}

export interface ClaimResult {
  readonly claimed: number
  readonly limit: number
}

/** A delayed task is claimed this long after it is due, so the database clock has surely passed it. */
const dueMargin = Duration.millis(5)

export const makeClaimer = (options: ClaimerOptions) => {
  /** Each key's attempt timeout: the claim turns it into the attempt's deadline. */
  const timeoutsOf = (keys: ReadonlyArray<string>) =>
    Effect.forEach(keys, (key) =>
      Effect.map(options.registry.get(key), (entry) =>
        Option.flatMap(entry, ({ task }) => task.timeout).pipe(Option.getOrElse(() => options.defaultTimeout))))

  /**
   * Claims as many tasks as there are free slots (up to the batch size) and starts them. The caller
   * holds one pool permit already. Only the claim statement is interruptible: once it has returned,
   * its executors are started before anything else, so a stop never strands a claimed row. (A stop
   * that interrupts the statement itself may still have claimed rows; the stop's final release of
   * this node's claims covers them.)
   */
  const runOnce: Effect.Effect<ClaimResult, TaskStoreError> = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const busy = yield* FiberMap.size(options.running)
      const limit = Math.max(1, Math.min(options.claimBatchSize, options.poolSize - busy))
      // A node whose id another process has taken claims nothing until it is registered again.
      const keys = Option.isSome(yield* options.registration) ? yield* options.registry.runnableKeys : []
      const claims = yield* restore(Effect.flatMap(timeoutsOf(keys), (timeouts) =>
        options.store.claim({
          keys,
          timeouts,
          limit,
          nodeId: options.nodeId,
          leaseDuration: options.leaseDuration,
          deadlineGrace: options.deadlineGrace,
          policy: options.policy
        })
      )).pipe(Effect.tapErrorCause(() => options.pool.release(1)))
      if (claims.length === 0) {
        yield* options.pool.release(1)
        return { claimed: 0, limit }
      }
      // One permit is already ours; the others are free (limit never exceeds the free slots).
      if (claims.length > 1) yield* options.pool.take(claims.length - 1)
      // Executors are born uninterruptible here and open up only around the handler.
      for (const claim of claims) yield* FiberMap.run(options.running, claim.claimToken, options.execute(claim))
      yield* Metric.incrementBy(metrics.tasksClaimed, claims.length)
      return { claimed: claims.length, limit }
    })
  )

  const jitteredScanInterval = Effect.map(
    Random.nextRange(1, 1.2),
    (factor) => Duration.millis(Duration.toMillis(options.scanInterval) * factor)
  )

  /** Until the next delayed task is due (NOTIFY told of it when it was enqueued, too early). */
  const untilNextDue = options.registry.runnableKeys.pipe(
    Effect.flatMap(options.store.nextDue),
    Effect.map(Option.map((due) => Duration.sum(due, dueMargin))),
    Effect.orElseSucceed(() => Option.none<Duration.Duration>())
  )

  const waitForWork = Effect.gen(function*() {
    const scan = yield* jitteredScanInterval
    const due = yield* untilNextDue
    const wait = Option.match(due, { onNone: () => scan, onSome: (until) => Duration.min(scan, until) })
    yield* Effect.timeoutOption(Queue.take(options.wakeups), wait)
  })

  /**
   * Waits for a free slot, claims, and then either goes again at once (a full batch: more work is
   * likely waiting) or waits for a wake-up or the safety scan interval, whichever comes first.
   */
  const loop = Effect.forever(Effect.gen(function*() {
    yield* options.pool.take(1)
    const result = yield* runOnce.pipe(
      Effect.tap(() => recordSuccess(options.board, "claimer")),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.zipRight(
            recordFailure(options.board, "claimer", error.message),
            Effect.logWarning("claim failed; trying again after the scan interval", error)
          ),
          { claimed: 0, limit: 1 }
        )
      )
    )
    if (result.claimed < result.limit) yield* waitForWork
  })).pipe(Effect.annotateLogs({ module: "TaskManager", fiber: "claimer" }))

  return { runOnce, loop }
}
