import { Effect, Ref } from "effect"
import { monotonicMillis } from "../monotonic.js"

/**
 * Whether this node holds the maintenance lease, as far as it can know: "until" a moment safely
 * before the lease row expires, so a node never believes it leads after another may have taken
 * over. Counted on the monotonic clock, so a wall clock stepped back cannot stretch it.
 */
export interface Leadership {
  readonly isLeader: Effect.Effect<boolean>
  /** Records that the lease is ours until `millis` (monotonic clock, see `monotonicMillis`). */
  readonly holdUntil: (millis: number) => Effect.Effect<void>
  readonly resign: Effect.Effect<void>
}

export const makeLeadership: Effect.Effect<Leadership> = Effect.map(Ref.make(0), (until) => ({
  isLeader: Effect.zipWith(monotonicMillis, Ref.get(until), (now, end) => now < end),
  holdUntil: (millis) => Ref.set(until, millis),
  resign: Ref.set(until, 0)
}))
