import { Effect } from "effect"
import type { TaskStoreError } from "../../TaskError.js"
import type { TaskStore } from "../../TaskStore.js"
import type { Leadership } from "./leadership.js"

export interface ChildSettlerOptions {
  readonly store: TaskStore["Type"]
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
