import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "./tables.js"

/**
 * Deletes, in one bounded statement, finished tasks whose retention has passed (`expires_at`,
 * fixed when each finished), oldest first. A task some of whose children its attempt still holds
 * is kept (the settler decides those first). It reads the index of expiring tasks, never the
 * table, and never a task kept forever; rows another statement holds are skipped. Returns how many
 * it deleted.
 */
export const deleteExpired = (tables: Tables, limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const deleted = yield* sql`
      DELETE FROM ${tasks} WHERE id IN (
        SELECT t.id FROM ${tasks} AS t
        WHERE t.expires_at < now()
          AND NOT EXISTS (SELECT 1 FROM ${tasks} AS c WHERE c.parent_id = t.id AND c.held_by IS NOT NULL)
        ORDER BY t.expires_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING 1`.withoutTransform
    return deleted.length
  })
