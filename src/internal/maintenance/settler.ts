import { Effect } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { Store } from "../store/store.js"
import type { Leadership } from "./leadership.js"

export interface ChildSettlerOptions {
  readonly store: Store
  readonly leadership: Leadership
  readonly batchSize: number
}

/**
 * One round of the child settler, on the maintenance leader only: children whose parent attempt
 * ended without settling them (a straggler committed after the end) are released if the attempt
 * kept its children, deleted otherwise, in one bounded batch. Returns how many it settled.
 */
export const makeChildSettler = (options: ChildSettlerOptions): Effect.Effect<number, TaskStoreError> =>
  Effect.flatMap(options.leadership.isLeader, (isLeader) =>
    isLeader
      ? Effect.gen(function*() {
        const settled = yield* options.store.settleOrphanChildren(options.batchSize)
        if (settled.released + settled.dropped > 0) {
          yield* Effect.logWarning("settled children left behind by ended attempts", settled)
        }
        return settled.released + settled.dropped
      })
      : Effect.succeed(0))

/**
 * One stale-wait round, on the maintenance leader only: children still waiting for a sibling that
 * has ended (the safety net under `waiting_for`) are freed, in bounded batches until one comes
 * back short (at most 100 batches a round). A failure is logged, and the next round tries again.
 * Returns how many it freed.
 */
export const makeStaleWaitFreer = (options: ChildSettlerOptions): Effect.Effect<number> =>
  Effect.flatMap(options.leadership.isLeader, (isLeader) =>
    isLeader
      ? Effect.gen(function*() {
        let total = 0
        for (let batch = 0; batch < 100; batch++) {
          const freed = yield* options.store.unblockStaleWaits(options.batchSize)
          total += freed
          if (freed < options.batchSize) break
        }
        if (total > 0) yield* Effect.logWarning(`${total} child task(s) were still waiting for a sibling that had ended`)
        return total
      }).pipe(
        Effect.catchAll((error) => Effect.as(Effect.logError("could not free children waiting for ended siblings", error), 0))
      )
      : Effect.succeed(0))
