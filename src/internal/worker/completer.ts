import { Deferred, Effect, Exit, Queue, type Scope } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Finish, TaskStore } from "../../TaskStore.js"

/** Records the ends of attempts. */
export interface Completer {
  /** Writes one attempt's end, guarded by its claim token; succeeds with whether it applied (false: stale). */
  readonly complete: (finish: Finish) => Effect.Effect<boolean, TaskStoreError>
}

export interface CompleterOptions {
  readonly store: TaskStore["Type"]
  /** Most ends written by one statement. */
  readonly maxBatch: number
}

interface Pending {
  readonly finish: Finish
  readonly applied: Deferred.Deferred<boolean, TaskStoreError>
}

/**
 * Ends that arrive together share one statement, with no added wait: a single writer takes every
 * end queued so far (up to `maxBatch`), writes them with one guarded `finishIfClaimed`, and
 * answers each caller; ends that arrive while that statement runs form the next batch. So an idle
 * node writes each end at once, and a busy one pays one commit for many. Each end is still fenced
 * by its own claim token, and each caller still learns whether its own write applied. A failed
 * statement fails every end of its batch: each caller decides whether to try again.
 */
export const makeCompleter = (options: CompleterOptions): Effect.Effect<Completer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
    const write = (batch: ReadonlyArray<Pending>) =>
      options.store.finishIfClaimed(
        // One lock order for every batch: two statements never wait on each other's rows crosswise.
        batch.map((pending) => pending.finish).sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))
      ).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.forEach(batch, (pending) =>
            Deferred.done(pending.applied, Exit.map(exit, (applied) => applied.includes(pending.finish.id))), {
            discard: true
          })
        )
      )
    yield* Queue.takeBetween(queue, 1, options.maxBatch).pipe(
      Effect.flatMap((batch) => write(Array.from(batch))),
      Effect.forever,
      Effect.forkScoped
    )
    return {
      complete: (finish) =>
        Effect.flatMap(Deferred.make<boolean, TaskStoreError>(), (applied) =>
          Effect.zipRight(Queue.offer(queue, { finish, applied }), Deferred.await(applied)))
    }
  })
