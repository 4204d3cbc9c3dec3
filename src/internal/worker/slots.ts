import { Effect, Queue, type Scope } from "effect"

/**
 * The attempts a node holds, claimed ahead or with their handler running, bounded by `capacity`
 * (`poolSize + claimAhead`). An attempt whose handler has ended no longer holds a slot while its end
 * is written: the claimer can claim again meanwhile. Only the claimer takes slots; each attempt
 * gives its slot back once. Every release and every `signal` wakes a claimer waiting in `changed`
 * (once armed), so it can wait for enough free slots to claim in one statement what would
 * otherwise take many.
 */
export interface ClaimSlots {
  readonly capacity: number
  /** Free slots now. */
  readonly free: Effect.Effect<number>
  /** Takes `n` slots, waiting while fewer are free. */
  readonly take: (n: number) => Effect.Effect<void>
  readonly release: (n: number) => Effect.Effect<void>
  /**
   * Starts recording changes for `changed`: a claimer arms, then checks what it waits for, then
   * waits, so a change in between is not missed. Changes while nobody is armed cost nothing.
   */
  readonly arm: Effect.Effect<void>
  /** Waits for a release or signal since `arm` (returns at once if one came meanwhile), and disarms. */
  readonly changed: Effect.Effect<void>
  /** Stops recording changes (the claimer is done waiting). */
  readonly disarm: Effect.Effect<void>
  /** Wakes an armed claimer: something it decides on changed (an attempt claimed ahead started, an end was written). */
  readonly signal: Effect.Effect<void>
}

export const makeClaimSlots = (capacity: number): Effect.Effect<ClaimSlots, never, Scope.Scope> =>
  Effect.gen(function*() {
    const semaphore = yield* Effect.makeSemaphore(capacity)
    // Coalesced: one pending wake-up is as good as many.
    const changes = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    let armed = false
    const disarm = Effect.sync(() => void (armed = false))
    const signal = Effect.suspend(() => armed ? Effect.asVoid(Queue.offer(changes, undefined)) : Effect.void)
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
      arm: Effect.zipRight(Queue.takeAll(changes), Effect.sync(() => void (armed = true))),
      changed: Effect.ensuring(Queue.take(changes), disarm),
      disarm,
      signal
    }
  })
