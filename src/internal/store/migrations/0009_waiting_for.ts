import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * `waiting_for`: the sibling a child still waits for (its `after_id` until that task ends, then
 * NULL). Rows that wait are left out of the claim's indexes, so a long chain of waiting children
 * costs a claim nothing, where stepping over them one by one cost it a probe each. `after_id`
 * stays as the record of the order (no query looks it up any more: its index goes). Stop workers
 * of older versions before this migration: they chain children without `waiting_for`.
 */
export const addWaitingFor = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const index = (name: string) => sql(`${tables.schema}.${name}`)
    yield* sql`ALTER TABLE ${tasks} ADD COLUMN waiting_for bigint`
    yield* sql`
      UPDATE ${tasks} AS c SET waiting_for = c.after_id
      WHERE c.after_id IS NOT NULL AND c.status IN ('initialized', 'paused')
        AND EXISTS (SELECT 1 FROM ${tasks} AS before
                    WHERE before.id = c.after_id AND before.status IN ('initialized', 'paused', 'running'))`
    yield* sql`CREATE INDEX tasks_waiting_for_idx ON ${tasks} (waiting_for) WHERE waiting_for IS NOT NULL`
    yield* sql`DROP INDEX ${index("tasks_after_idx")}`
    yield* sql`DROP INDEX ${index("tasks_runnable_idx")}`
    yield* sql`CREATE INDEX tasks_runnable_idx ON ${tasks} (priority DESC, run_at, id)
      WHERE status = 'initialized' AND held_by IS NULL AND waiting_for IS NULL`
    yield* sql`DROP INDEX ${index("tasks_group_idx")}`
    yield* sql`CREATE INDEX tasks_group_idx ON ${tasks} (queue, (coalesce(owner, '')), priority DESC, run_at, id)
      WHERE status = 'initialized' AND held_by IS NULL AND waiting_for IS NULL`
  })
