import { Duration, Effect, Option, type Ref } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import { type Incarnation, maintenanceLease } from "../store/nodes.js"
import { monotonicMillis } from "../monotonic.js"
import type { Leadership } from "./leadership.js"

export interface ElectorOptions {
  readonly store: Store
  /** This process's incarnation of the node; None while another live process holds the id. */
  readonly registration: Ref.Ref<Option.Option<Incarnation>>
  /** Where the outcome goes: the rescuer, checker, reaper and child settler act only while it says so. */
  readonly leadership: Leadership
  /** How long the maintenance lease lasts unless renewed (each round renews it). */
  readonly leaseDuration: Duration.Duration
}


/**
 * One election round: take or keep the maintenance lease (one holder at a time across all nodes).
 * Trying every round, not only at heartbeats, lets a survivor take over as soon as a dead leader's
 * lease lapses. The lease is believed for three quarters of it, counted on the monotonic clock
 * from before the statement was sent. Returns whether this node leads.
 */
export const makeElector = (options: ElectorOptions): Effect.Effect<boolean, TaskStoreError> => {
  const trusted = Duration.toMillis(options.leaseDuration) * 0.75
  return Effect.gen(function*() {
    const startedAt = yield* monotonicMillis
    const node = yield* options.registration
    const isLeader = Option.isSome(node) &&
      (yield* options.store.acquireLease(maintenanceLease, node.value, options.leaseDuration))
    yield* isLeader ? options.leadership.holdUntil(startedAt + trusted) : options.leadership.resign
    return isLeader
  })
}
