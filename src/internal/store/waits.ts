import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { notifyKeys } from "./notify.js"
import type { Tables } from "./tables.js"

/**
 * The `waiting_for` mechanism: a child waits for the sibling submitted before it by the same
 * attempt while that sibling is unfinished. The predicate, the CTE that frees the children of
 * tasks that ended, and the safety net under both.
 */

/**
 * Whether the task `id` (an expression) exists and has not ended. `OFFSET 0` keeps it a probe by
 * primary key: otherwise the planner may hash every unfinished task.
 */
export const isUnfinished = (sql: SqlClient.SqlClient, tables: Tables, id: Fragment): Fragment =>
  sql`EXISTS (SELECT 1 FROM ${sql(tables.tasks)} AS before
    WHERE before.id = ${id} AND before.status = ANY(${TaskStatus.unfinished}::text[]) OFFSET 0)`

/**
 * A CTE named `unblocked`: the children waiting for one of `ended` (a query with an `id` column:
 * tasks that just ended, or are gone) wait no more. Returns their `key` and `held_by`.
 */
export const unblockedBy = (sql: SqlClient.SqlClient, tables: Tables, ended: Fragment) =>
  sql`unblocked AS (
    UPDATE ${sql(tables.tasks)} AS next SET waiting_for = NULL, updated_at = now()
    WHERE next.waiting_for IN (${ended})
    RETURNING next.key, next.held_by
  )`

/**
 * The safety net under `waiting_for`: children still waiting for a task that has ended or is gone
 * (an end that did not clear it, say a row deleted by hand) wait no more. Bounded; the maintenance
 * leader runs it with each abnormal-task check. Returns how many it freed.
 */
export const unblockStaleWaits = (tables: Tables, limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<{ freed: number }>`
      WITH stale AS (
        SELECT w.id FROM ${tasks} AS w
        WHERE w.waiting_for IS NOT NULL AND NOT ${isUnfinished(sql, tables, sql`w.waiting_for`)}
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      ),
      ${unblockedBy(sql, tables, sql`SELECT waiting_for FROM ${tasks} JOIN stale USING (id)`)},
      notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM unblocked WHERE held_by IS NULL`)})
      SELECT (SELECT count(*)::int FROM unblocked) AS freed FROM notified`.withoutTransform
    return rows[0]?.freed ?? 0
  })
