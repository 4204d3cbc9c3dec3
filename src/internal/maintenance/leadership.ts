import { Effect, Ref, type Tracer } from "effect"
import { monotonicMillis } from "../monotonic.js"
import { withApplicationTracer } from "../observability/trace.js"
import type { Store } from "../store/store.js"

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

/** What every leader-only round works with: the store, this node's leadership, and its batch size. */
export interface RoundOptions {
  readonly store: Store
  readonly leadership: Leadership
  /** Rows one statement handles at most. */
  readonly batchSize: number
}

/** A leader-only round: runs `round` while this node leads maintenance; otherwise does nothing and counts 0. */
export const whileLeading = <E, R>(leadership: Leadership, round: Effect.Effect<number, E, R>): Effect.Effect<number, E, R> =>
  Effect.flatMap(leadership.isLeader, (isLeader) => isLeader ? round : Effect.succeed(0))

/**
 * Runs `batch` (which handles at most `size` rows and says how many it handled) again and again
 * until one comes back short, at most `maxBatches` times; returns the total handled.
 */
export const untilShort = <E, R>(
  batch: Effect.Effect<number, E, R>,
  size: number,
  maxBatches: number
): Effect.Effect<number, E, R> => {
  const go = (total: number, done: number): Effect.Effect<number, E, R> =>
    Effect.flatMap(batch, (handled) =>
      handled === size && done + 1 < maxBatches ? go(total + handled, done + 1) : Effect.succeed(total + handled))
  return go(0, 0)
}

/**
 * A leader-only round of bounded batches: on the leader, `batch` (one statement of at most
 * `options.batchSize` rows) again until one comes back short, at most `maxBatches` times.
 */
export const leaderBatches = <E, R>(
  options: RoundOptions,
  batch: Effect.Effect<number, E, R>,
  maxBatches: number
): Effect.Effect<number, E, R> => whileLeading(options.leadership, untilShort(batch, options.batchSize, maxBatches))

/**
 * A maintenance round in a root span of its own (`effect_tasks.<name>`), made with the
 * application's tracer (undefined: none provided, no span) and only on the leader: elsewhere the
 * round does nothing worth a span. A round that counts what it handled says so on the span.
 */
export const roundSpan = (leadership: Leadership, name: string, tracer: Tracer.Tracer | undefined) => {
  const traced = tracer === undefined ? undefined : withApplicationTracer(tracer)
  return <A, E, R>(round: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    traced === undefined ? round : Effect.flatMap(leadership.isLeader, (isLeader) =>
      isLeader
        ? round.pipe(
          Effect.tap((handled) => typeof handled === "number" ? Effect.annotateCurrentSpan("effect_tasks.rows", handled) : Effect.void),
          Effect.withSpan(`effect_tasks.${name}`, { root: true, captureStackTrace: false }),
          traced
        )
        : round)
}
