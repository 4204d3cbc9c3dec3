import { Effect, Queue, type Scope } from "effect"

/**
 * The attempts a node holds, claimed ahead or with their handler running, bounded by `capacity`
 * (`poolSize + claimAhead`). An attempt whose handler has ended no longer holds a slot while its end
 * is written: the claimer can claim again meanwhile. Only the claimer takes slots; each attempt
 * gives its slot back once. Every release and every `signal` wakes a claimer waiting in `changed`,
 * so it can wait for enough free slots to claim in one statement what would otherwise take many.
 */
export interface ClaimSlots {
  readonly capacity: number
  /** Free slots now. */
  readonly free: Effect.Effect<number>
  /** Takes `n` slots, waiting while fewer are free. */
  readonly take: (n: number) => Effect.Effect<void>
  readonly release: (n: number) => Effect.Effect<void>
  /** Waits for the next release or signal since the last wait (returns at once if one came meanwhile). */
  readonly changed: Effect.Effect<void>
  /** Wakes a claimer waiting in `changed`: something it decides on changed (an attempt claimed ahead started). */
  readonly signal: Effect.Effect<void>
}

export const makeClaimSlots = (capacity: number): Effect.Effect<ClaimSlots, never, Scope.Scope> =>
  Effect.gen(function*() {
    const semaphore = yield* Effect.makeSemaphore(capacity)
    // Coalesced: one pending wake-up is as good as many.
    const changes = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    const signal = Effect.asVoid(Queue.offer(changes, undefined))
    // Kept beside the semaphore, which does not tell how many permits it has left.
    let taken = 0
    return {
      capacity,
      free: Effect.sync(() => capacity - taken),
      take: (n) => Effect.zipRight(semaphore.take(n), Effect.sync(() => void (taken += n))),
      release: (n) =>
        Effect.suspend(() => {
          taken -= n
          return Effect.zipRight(semaphore.release(n), signal)
        }),
      changed: Queue.take(changes),
      signal
    }
  })
