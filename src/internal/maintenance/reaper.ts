import { Duration, Effect } from "effect"
import type { Store } from "../store/store.js"
import { type Leadership, whileLeading } from "./leadership.js"


export interface NodeReaperOptions {
  readonly store: Store
  readonly leadership: Leadership
  readonly retention: Duration.Duration
}

/**
 * One round of the node reaper, on the maintenance leader only: forget nodes whose heartbeat has
 * been silent for `retention`. Returns how many it removed.
 */
export const makeNodeReaper = (options: NodeReaperOptions): Effect.Effect<number, unknown> =>
  whileLeading(options.leadership, options.store.deleteSilentNodes(options.retention))
