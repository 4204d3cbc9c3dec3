import { Duration, Effect, Metric, Option, Queue, Random, Ref } from "effect"
import type { SchedulingPolicy } from "../../SchedulingPolicy.js"
import type { TaskRegistry } from "../../TaskRegistry.js"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Incarnation } from "../store/nodes.js"
import type { QueueLimits } from "../store/claim.js"
import type { ClaimedTask } from "../store/taskRow.js"
import * as metrics from "../observability/metrics.js"
import { aheadFor, type HandlerPace } from "./pace.js"
import type { Phases } from "./running.js"
import type { ClaimSlots } from "./slots.js"
import { type HealthBoard, recordFailure, recordSuccess } from "./supervisor.js"
import { tuning } from "../config/settings.js"
import { monotonicMillis } from "../monotonic.js"
import type { DueSoon } from "./dueSoon.js"

export interface ClaimerOptions {
  readonly store: Store
  readonly registry: TaskRegistry["Type"]
  /** Attempts held at once, running or claimed ahead (`poolSize + claimAhead`): one per claimed task, given back by its executor. */
  readonly claimSlots: ClaimSlots
  /** Where each held attempt is: the claimer waits for a batch only while attempts claimed ahead still wait for a handler. */
  readonly phases: Phases
  /** While this many ends wait to be written, the claimer claims nothing more. */
  readonly maxEndsPending: number
  /** Handlers running at once. */
  readonly poolSize: number
  /**
   * Tasks held claimed ahead of the handlers, at most (`claimSlots.capacity − poolSize`). Adaptive:
   * fewer while handlers are slow (see `aheadFor`).
   */
  readonly claimAhead: number
  readonly isClaimAheadAdaptive: boolean
  readonly pace: HandlerPace
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
  /** Forks the attempt of a claim where executors run, by claim token (see the manager's `forkAttempt`). */
  readonly start: (claim: ClaimedTask) => void
  /** Signals that work may be waiting (NOTIFY, new handlers). Coalesced: a sliding queue of one. */
  readonly wakeups: Queue.Queue<void>
  /** Due times of tasks this node wrote back (retries, snoozes), which end a wait for work. */
  readonly dueSoon: DueSoon
  readonly board: HealthBoard
}

export interface ClaimResult {
  readonly claimed: number
  readonly limit: number
  /** The queues' concurrency limits changed since the claim was made: claim again at once. */
  readonly limitsChanged: boolean
}

export const makeClaimer = (options: ClaimerOptions) => Effect.gen(function*() {
  /** The queues' concurrency limits as last read: read again after a claim that found nothing. */
  const knownLimits = yield* Ref.make(Option.none<QueueLimits>())

  /** Each key's attempt timeout: the claim turns it into the attempt's deadline. */
  const timeoutsOf = (keys: ReadonlyArray<string>) =>
    Effect.forEach(keys, (key) =>
      Effect.map(options.registry.get(key), (entry) =>
        Option.flatMap(entry, ({ task }) => task.timeout).pipe(Option.getOrElse(() => options.defaultTimeout))))

  /**
   * Claims as many tasks as there are free slots (up to the batch size) and starts them. The caller
   * holds one claim slot already. Only the claim statement is interruptible: once it has returned,
   * its executors are started before anything else, so a stop never strands a claimed row. (A stop
   * that interrupts the statement itself may still have claimed rows; the stop's final release of
   * this node's claims covers them.)
   */
  const runOnce: Effect.Effect<ClaimResult, TaskStoreError> = Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const limit = Math.max(1, (yield* places).places)
      // A node whose id another process has taken claims nothing until it is registered again.
      const keys = Option.isSome(yield* options.registration) ? yield* options.registry.runnableKeys : []
      const claims = yield* restore(Effect.gen(function*() {
        const limits = yield* Option.match(yield* Ref.get(knownLimits), {
          onSome: Effect.succeed,
          onNone: () => Effect.tap(options.store.readQueueLimits, (read) => Ref.set(knownLimits, Option.some(read)))
        })
        const timeouts = yield* timeoutsOf(keys)
        const startedAt = yield* monotonicMillis
        const claims = yield* options.store.claim({
          keys,
          timeouts,
          limit,
          nodeId: options.nodeId,
          leaseDuration: options.leaseDuration,
          deadlineGrace: options.deadlineGrace,
          policy: options.policy,
          limits
        })
        yield* Metric.update(metrics.claimRound, (yield* monotonicMillis) - startedAt)
        yield* Metric.update(metrics.claimSize, claims.length)
        return { claims, limits }
      })).pipe(Effect.tapErrorCause(() => Effect.zipRight(options.claimSlots.release(1), Ref.set(knownLimits, Option.none()))))
      if (claims.claims.length === 0) {
        yield* options.claimSlots.release(1)
        // Nothing claimed: idle, or limits appeared that the claim was not told of (it then claims nothing).
        const read = yield* restore(options.store.readQueueLimits)
        yield* Ref.set(knownLimits, Option.some(read))
        const limitsChanged = read.isLimited !== claims.limits.isLimited || read.isGlobal !== claims.limits.isGlobal
        return { claimed: 0, limit, limitsChanged }
      }
      // One permit is already ours; the others are free (limit never exceeds the free slots).
      if (claims.claims.length > 1) yield* options.claimSlots.take(claims.claims.length - 1)
      // Executors make themselves uninterruptible and open up only around the handler.
      yield* Effect.sync(() => claims.claims.forEach(options.start))
      yield* Metric.incrementBy(metrics.tasksClaimed, claims.claims.length)
      return { claimed: claims.claims.length, limit, limitsChanged: false }
    })
  )

  const jitteredScanInterval = Effect.map(
    Random.nextRange(1, 1.2),
    (factor) => Duration.millis(Duration.toMillis(options.scanInterval) * factor)
  )

  /** Until the next delayed task is due (NOTIFY told of it when it was enqueued, too early). */
  const untilNextDue = options.registry.runnableKeys.pipe(
    Effect.flatMap(options.store.nextDue),
    Effect.map(Option.map((due) => Duration.sum(due, tuning.dueMargin))),
    Effect.orElseSucceed(() => Option.none<Duration.Duration>())
  )

  /**
   * Waits for a wake-up, the scan interval, the next due task read from the database, or one this
   * node wrote back since (`dueSoon`), whichever comes first; a newly recorded earlier due time
   * shortens the wait.
   */
  const waitForWork = Effect.gen(function*() {
    const startedAt = yield* monotonicMillis
    const scan = yield* jitteredScanInterval
    const due = yield* untilNextDue
    const read = Option.match(due, { onNone: () => scan, onSome: (until) => Duration.min(scan, until) })
    const until = startedAt + Duration.toMillis(read)
    for (;;) {
      const soon = yield* options.dueSoon.earliest
      const wait = Math.max(0, Math.min(until, Option.getOrElse(soon, () => until)) - (yield* monotonicMillis))
      const woken = yield* Effect.raceFirst(
        Effect.as(Queue.take(options.wakeups), "work" as const),
        Effect.as(options.dueSoon.changed, "sooner" as const)
      ).pipe(Effect.timeoutOption(Duration.millis(wait)))
      if (Option.isNone(woken) || woken.value === "work") break
    }
    yield* options.dueSoon.clearPast
  })

  /** Tasks to hold claimed ahead now. */
  const aheadNow = options.isClaimAheadAdaptive
    ? Effect.map(options.pace.meanMillis, (mean) => aheadFor(mean, options.poolSize, options.claimAhead, tuning.claimAheadWindowMillis))
    : Effect.succeed(options.claimAhead)

  /**
   * How many tasks the next claim may take: free slots (the caller holds one already), within the
   * batch size and the claim-ahead buffer as sized now; and the most it takes while it waits for a
   * batch (`target`).
   */
  const places = Effect.gen(function*() {
    const free = (yield* options.claimSlots.free) + 1
    const held = options.claimSlots.capacity - free
    const room = options.poolSize + (yield* aheadNow)
    const places = Math.min(options.claimBatchSize, free, room - held)
    return { places, target: Math.max(1, Math.ceil(Math.min(options.claimBatchSize, room) / 2)) }
  })

  /**
   * After a claim that filled every slot, slots come free one at a time as handlers end: claiming
   * at once would claim one task per statement. So, while attempts claimed ahead still wait for a
   * handler (no handler is about to go idle), the claimer waits until half a batch of slots is free.
   * Nor does it claim while `maxEndsPending` ends wait to be written: ends written slower than
   * handlers end (a slow database) hold claiming back, so the attempts held stay bounded.
   */
  const untilWorthClaiming = Effect.gen(function*() {
    for (;;) {
      yield* options.claimSlots.arm
      const backlog = (yield* options.phases.count("ending")) >= options.maxEndsPending
      const { places: now, target } = yield* places
      if (!backlog && now >= 1 && (now >= target || (yield* options.phases.count("waiting")) === 0)) break
      yield* options.claimSlots.changed
    }
    yield* options.claimSlots.disarm
  })

  /**
   * Waits for a free slot, claims, and then either goes again at once (a full batch: more work is
   * likely waiting) or waits for a wake-up or the safety scan interval, whichever comes first.
   */
  const loop = Effect.forever(Effect.gen(function*() {
    yield* options.claimSlots.take(1)
    yield* untilWorthClaiming
    const result = yield* runOnce.pipe(
      Effect.tap(() => recordSuccess(options.board, "claimer")),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.zipRight(
            recordFailure(options.board, "claimer", error.message),
            Effect.logWarning("claim failed; trying again after the scan interval", error)
          ),
          { claimed: 0, limit: 1, limitsChanged: false }
        )
      )
    )
    if (result.claimed < result.limit && !result.limitsChanged) yield* waitForWork
  })).pipe(Effect.annotateLogs({ module: "TaskManager", fiber: "claimer" }))

  return { runOnce, loop }
})
