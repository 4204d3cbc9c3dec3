import { Duration, Effect, Option, Queue, Ref } from "effect"
import { monotonicMillis } from "../monotonic.js"

/**
 * The earliest moment (monotonic clock) a task this node wrote back falls due: a retry or a snooze,
 * whose row the claimer's last look-up of the next due task may have missed. The executor records
 * it once the row is written; the claimer's wait for work ends then, as it would for a due time it
 * read. One record for all of them, not a timer each: the claim at that moment reads the next due
 * time again, which covers every later one already written.
 */
export interface DueSoon {
  /** Records that a task is due `delay` from now (after its row was written). */
  readonly record: (delay: Duration.Duration) => Effect.Effect<void>
  /** The earliest recorded moment not yet claimed for, if any. */
  readonly earliest: Effect.Effect<Option.Option<number>>
  /** Forgets what has fallen due by now (the claim about to run covers it). */
  readonly clearPast: Effect.Effect<void>
  /** Takes a signal that an earlier moment was recorded: a waiting claimer computes its wait again. */
  readonly changed: Effect.Effect<void>
}

export const makeDueSoon = (margin: Duration.Duration): Effect.Effect<DueSoon> =>
  Effect.gen(function*() {
    const earliest = yield* Ref.make(Option.none<number>())
    const changed = yield* Queue.sliding<void>(1)
    return {
      record: (delay) =>
        Effect.gen(function*() {
          const at = (yield* monotonicMillis) + Duration.toMillis(Duration.sum(delay, margin))
          const moved = yield* Ref.modify(earliest, (current) =>
            Option.isSome(current) && current.value <= at ? [false, current] : [true, Option.some(at)])
          if (moved) yield* Queue.offer(changed, undefined)
        }),
      earliest: Ref.get(earliest),
      clearPast: Effect.flatMap(monotonicMillis, (now) =>
        Ref.update(earliest, Option.filter((at) => at > now))),
      changed: Queue.take(changed)
    }
  })
