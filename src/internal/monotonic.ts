import { Clock, Duration, Effect } from "effect"

/**
 * Milliseconds on a monotonic clock: every local duration (heartbeat silence, leadership, the
 * listener's watchdog, pacing) is measured with it. The wall clock (`Clock.currentTimeMillis`) can
 * be stepped back or forward (NTP, a resumed VM); Effect's default `currentTimeNanos` reads
 * `process.hrtime`, which never is. Under `TestClock` both move together.
 */
export const monotonicMillis: Effect.Effect<number> = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos / 1_000_000n))

/**
 * Runs `round`, then waits out the rest of `interval` counted from its start (on the monotonic
 * clock), whether it succeeded or not: rounds start one `interval` apart unless a round takes longer.
 */
export const paced = (interval: Duration.Duration) => <A, E, R>(round: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const startedAt = yield* monotonicMillis
    const exit = yield* Effect.exit(round)
    const elapsed = (yield* monotonicMillis) - startedAt
    yield* Effect.sleep(Duration.millis(Math.max(0, Duration.toMillis(interval) - elapsed)))
    return yield* exit
  })
