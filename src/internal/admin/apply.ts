import { Effect } from "effect"
import { cancel, type MoveOptions, move, pause, remove, rerun, resume, type Target } from "./act.js"
import { type Change, idsMatching } from "./changeable.js"
import type { Filter } from "./find.js"

/**
 * A change by its name, on ids or on a filter, as the command line and the dashboard offer them:
 * `pause` and `resume`, which take ids, change the tasks the filter matches that they apply to.
 * Succeeds with the ids changed.
 */
export const applyChange = (change: Change, target: Target, to: MoveOptions = {}) => {
  const ids = Array.isArray(target) ? Effect.succeed(target as ReadonlyArray<string>) : idsMatching(target as Filter, change)
  switch (change) {
    case "rerun":
      return rerun(target)
    case "cancel":
      return cancel(target)
    case "delete":
      return remove(target)
    case "move":
      return move(target, to)
    case "pause":
      return Effect.flatMap(ids, pause)
    case "resume":
      return Effect.flatMap(ids, resume)
  }
}
