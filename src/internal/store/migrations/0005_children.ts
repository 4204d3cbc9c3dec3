import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Child tasks. `parent_id`/`root_id` make the tree visible; `held_by` (the parent attempt's claim
 * token) keeps a child unclaimable until that attempt succeeds, and lets a failed attempt take its
 * children with it; `after_id` orders the children one parent attempt submitted; `kept_token` is
 * the token of the parent's last attempt whose children were kept, to settle stragglers.
 */
export const addChildren = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`
      ALTER TABLE ${tasks}
        ADD COLUMN parent_id bigint,
        ADD COLUMN root_id   bigint,
        ADD COLUMN after_id  bigint,
        ADD COLUMN held_by   uuid,
        ADD COLUMN kept_token uuid`
    yield* sql`CREATE INDEX tasks_held_by_idx ON ${tasks} (held_by) WHERE held_by IS NOT NULL`
    yield* sql`CREATE INDEX tasks_after_idx ON ${tasks} (after_id) WHERE after_id IS NOT NULL`
    yield* sql`CREATE INDEX tasks_parent_idx ON ${tasks} (parent_id) WHERE parent_id IS NOT NULL`
  })
