import { Clock, Duration, Effect, FiberId, Queue, type Scope } from "effect"

/**
 * Attempt timeouts without a timer fiber per attempt: one watcher per manager sleeps until the
 * earliest deadline (on Effect's clock, so `TestClock` drives it) and interrupts the fibers whose
 * deadline has passed, as `interruptor`. A handler timed this way runs in the caller's own fiber:
 * `Effect.timeout` would fork both the handler and a timer for every attempt, which cost more
 * than the rest of an attempt of a short task.
 */
export interface Deadlines {
  /** The fiber id a deadline interrupts as: tells a timeout from a stop. */
  readonly interruptor: FiberId.FiberId
  /**
   * Runs `self` in the calling fiber; if it still runs after `timeout`, calls `onDue` and
   * interrupts the calling fiber as `interruptor`. The interruption unwinds the caller's
   * interruptible region, as a stop would.
   */
  readonly within: <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.Duration, onDue: () => void) => Effect.Effect<A, E, R>
}

interface Entry {
  readonly at: number
  readonly due: () => void
}

const nowMillis = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos) / 1e6)

export const makeDeadlines: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.gen(function*() {
  const interruptor = FiberId.make(-1, 0)
  const entries = new Map<number, Entry>()
  let sequence = 0
  // When the watcher wakes next: a deadline earlier than that wakes it at once.
  let nextWake = Number.POSITIVE_INFINITY
  const earlier = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)

  const watch = Effect.gen(function*() {
    const now = yield* nowMillis
    let earliest = Number.POSITIVE_INFINITY
    for (const [key, entry] of entries) {
      if (entry.at <= now) {
        entries.delete(key)
        entry.due()
      } else {
        earliest = Math.min(earliest, entry.at)
      }
    }
    nextWake = earliest
    yield* Number.isFinite(earliest)
      ? Effect.asVoid(Effect.timeoutOption(Queue.take(earlier), Duration.millis(earliest - now)))
      : Queue.take(earlier)
  })
  yield* Effect.forkScoped(Effect.forever(watch))

  const within = <A, E, R>(self: Effect.Effect<A, E, R>, timeout: Duration.Duration, onDue: () => void) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      const key = sequence++
      const register = Effect.flatMap(nowMillis, (now) => {
        const at = now + Duration.toMillis(timeout)
        entries.set(key, {
          at,
          due: () => {
            onDue()
            fiber.unsafeInterruptAsFork(interruptor)
          }
        })
        return at < nextWake
          ? Effect.zipRight(Effect.sync(() => void (nextWake = at)), Queue.offer(earlier, undefined))
          : Effect.void
      })
      return Effect.ensuring(Effect.zipRight(register, self), Effect.sync(() => void entries.delete(key)))
    })
  return { interruptor, within }
})
