import { Clock, Effect, Option } from "effect"

/**
 * How long this node's handlers have taken lately: an exponentially weighted mean over the
 * handlers that ended, measured on the monotonic clock. It sizes the claim-ahead buffer.
 */
export interface HandlerPace {
  /** Runs `self`, and counts how long it took. */
  readonly timed: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The mean in milliseconds; None until a handler has ended. */
  readonly meanMillis: Effect.Effect<Option.Option<number>>
}

/** Weight of the newest handler in the mean: about the last 20 count. */
const weight = 0.05

export const makeHandlerPace: Effect.Effect<HandlerPace> = Effect.sync(() => {
  let mean: number | undefined
  const record = (millis: number) => {
    mean = mean === undefined ? millis : mean + weight * (millis - mean)
  }
  return {
    timed: (self) =>
      Effect.flatMap(Clock.currentTimeNanos, (start) =>
        Effect.ensuring(self, Effect.map(Clock.currentTimeNanos, (end) => record(Number(end - start) / 1e6)))),
    meanMillis: Effect.sync(() => Option.fromNullable(mean))
  }
})

/**
 * How many tasks to hold claimed ahead: as many as the handlers start within `window` at their
 * recent pace (at least one, at most `max`), so short tasks are claimed many per statement while
 * long ones are left to other nodes. Before any handler has ended: `poolSize`, within `max`.
 */
export const aheadFor = (meanMillis: Option.Option<number>, poolSize: number, max: number, windowMillis: number): number =>
  Option.match(meanMillis, {
    onNone: () => Math.min(poolSize, max),
    onSome: (mean) => Math.min(max, Math.max(1, Math.ceil(poolSize * windowMillis / Math.max(mean, 0.001))))
  })
