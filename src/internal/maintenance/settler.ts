import { Effect } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import { type RoundOptions, untilShort, whileLeading } from "./leadership.js"

/**
 * One round of the child settler, on the maintenance leader only: children whose parent attempt
 * ended without settling them (a straggler committed after the end) are released if the attempt
 * kept its children, deleted otherwise, in one bounded batch. Returns how many it settled.
 */
export const makeChildSettler = (options: RoundOptions): Effect.Effect<number, TaskStoreError> =>
  whileLeading(
    options.leadership,
    Effect.gen(function*() {
      const settled = yield* options.store.settleOrphanChildren(options.batchSize)
      if (settled.released + settled.dropped > 0) {
        yield* Effect.logWarning("settled children left behind by ended attempts", settled)
      }
      return settled.released + settled.dropped
    })
  )

/**
 * One stale-wait round, on the maintenance leader only: children still waiting for a sibling that
 * has ended (the safety net under `waiting_for`) are freed, in bounded batches until one comes
 * back short (at most 100 batches a round). A failure is logged, and the next round tries again.
 * Returns how many it freed.
 */
export const makeStaleWaitFreer = (options: RoundOptions): Effect.Effect<number> =>
  whileLeading(
    options.leadership,
    Effect.gen(function*() {
      const total = yield* untilShort(options.store.unblockStaleWaits(options.batchSize), options.batchSize, 100)
      if (total > 0) yield* Effect.logWarning(`${total} child task(s) were still waiting for a sibling that had ended`)
      return total
    }).pipe(
      Effect.catchAll((error) => Effect.as(Effect.logError("could not free children waiting for ended siblings", error), 0))
    )
  )
