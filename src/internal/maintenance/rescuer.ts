import { Duration, Effect, Metric, Option, Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Incarnation, TaskStore } from "../../TaskStore.js"
import { monotonicMillis } from "../monotonic.js"
import * as metrics from "../worker/metrics.js"
import type { Leadership } from "./leadership.js"

export interface RescuerOptions {
  readonly store: TaskStore["Type"]
  /** This process's incarnation of the node; None while another live process holds the id. */
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
  /** Set at each round: whether this node holds the maintenance lease (the checker reads it too). */
  readonly leadership: Leadership
  /** How long the maintenance lease lasts unless renewed (each round renews it). */
  readonly leaderLeaseDuration: Duration.Duration
  readonly maxWorkerLosses: number
  readonly batchSize: number
}

const maintenanceLease = "maintenance"

/**
 * One rescue round: take or keep the maintenance lease, and as its holder (one node at a time)
 * take back lapsed claims in bounded batches until a batch comes back short. Trying for the lease
 * every round, not only at heartbeats, lets a survivor take over as soon as a dead leader's lease
 * lapses. Returns how many tasks it took back.
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
  // Believe in the lease for three quarters of it, counted from before the statement was sent.
  const trusted = Duration.toMillis(options.leaderLeaseDuration) * 0.75
  return Effect.gen(function*() {
    const startedAt = yield* monotonicMillis
    const node = yield* Ref.get(options.registration)
    const isLeader = Option.isSome(node) &&
      (yield* options.store.acquireLease(maintenanceLease, node.value, options.leaderLeaseDuration))
    yield* isLeader ? options.leadership.holdUntil(startedAt + trusted) : options.leadership.resign
    if (!isLeader) return 0
    const rescued = yield* drain(0)
    const settled = yield* options.store.settleOrphanChildren(options.batchSize)
    if (settled.released + settled.dropped > 0) {
      yield* Effect.logWarning("settled children left behind by ended attempts", settled)
    }
    return rescued
  })
}
