import { Duration, Effect, Option, Queue, Ref } from "effect"
import { monotonicMillis } from "../monotonic.js"

/**
 * The moments (monotonic clock) at which tasks this node wrote back fall due: retries and snoozes,
 * whose rows the claimer's last look-up of the next due task may have missed. The executor records
 * each once its row is written; the claimer's wait for work ends at the earliest, as it would for a
 * due time it read, and the later ones stay for the waits after it. Each is kept, not only the
 * earliest: a claim made just before a task falls due misses it, and the look-up of the next due
 * task made just after misses it too (it is no longer "not yet due"); only its recorded moment then
 * brings the claimer back for it before the scan.
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

/**
 * Moments kept at most: one per attempt written back, until it falls due. Past that many, the
 * latest are dropped (the scan finds their tasks).
 */
export const maxKept = 1_000

/** The moments still to come at `now` (ascending, so those past are a prefix). */
const stillAhead = (moments: ReadonlyArray<number>, now: number): ReadonlyArray<number> => {
  const firstAhead = moments.findIndex((moment) => moment > now)
  return firstAhead === -1 ? [] : firstAhead === 0 ? moments : moments.slice(firstAhead)
}

export const makeDueSoon = (margin: Duration.Duration): Effect.Effect<DueSoon> =>
  Effect.gen(function*() {
    // Ascending: the earliest first.
    const moments = yield* Ref.make<ReadonlyArray<number>>([])
    const changed = yield* Queue.sliding<void>(1)
    return {
      record: (delay) =>
        Effect.gen(function*() {
          const now = yield* monotonicMillis
          const at = now + Duration.toMillis(Duration.sum(delay, margin))
          const isEarliest = yield* Ref.modify(moments, (all) => {
            // Past moments go first (a busy claimer, claiming full batches, clears none), so they
            // never take the room of future ones.
            const kept = stillAhead(all, now)
            const index = kept.findIndex((moment) => moment > at)
            const place = index === -1 ? kept.length : index
            if (place >= maxKept) return [false, kept]
            const next = [...kept.slice(0, place), at, ...kept.slice(place)].slice(0, maxKept)
            return [place === 0, next]
          })
          if (isEarliest) yield* Queue.offer(changed, undefined)
        }),
      earliest: Ref.get(moments).pipe(Effect.map((kept) => Option.fromNullable(kept[0]))),
      clearPast: Effect.flatMap(monotonicMillis, (now) => Ref.update(moments, (kept) => stillAhead(kept, now))),
      changed: Queue.take(changed)
    }
  })
