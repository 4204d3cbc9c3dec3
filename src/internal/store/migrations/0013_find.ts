import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The indexes `TaskAdmin.list` and `count` read, so that a filter by key, owner, tree, unique key,
 * creation time, a status other than `succeeded`, or argument content (of failed, canceled and
 * paused tasks) answers from an index on a table of millions of finished rows. The partial ones
 * cost nothing for rows they do not cover; the BRIN index on `created_at` is a few pages.
 */
export const addFindIndexes = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`CREATE INDEX tasks_key_idx ON ${tasks} (key, id)`
    yield* sql`CREATE INDEX tasks_owner_idx ON ${tasks} (owner, id) WHERE owner IS NOT NULL`
    yield* sql`CREATE INDEX tasks_root_idx ON ${tasks} (root_id, id) WHERE root_id IS NOT NULL`
    yield* sql`CREATE INDEX tasks_unique_key_any_idx ON ${tasks} (unique_key, id) WHERE unique_key IS NOT NULL`
    yield* sql`CREATE INDEX tasks_unsettled_idx ON ${tasks} (status, id) WHERE status <> 'succeeded'`
    yield* sql`CREATE INDEX tasks_created_brin ON ${tasks} USING brin (created_at)`
    // Argument search is indexed where operators look for it: tasks that need them. Indexing every
    // row would write each task's arguments into it three times (inserted, claimed, finished).
    yield* sql`CREATE INDEX tasks_args_idx ON ${tasks} USING gin (args jsonb_path_ops)
      WHERE status IN ('failed', 'canceled', 'paused')`
  })
