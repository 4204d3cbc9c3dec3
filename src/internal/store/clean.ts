import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import type { Tables } from "./tables.js"

/** How long finished tasks are kept, by status; an infinite duration keeps them forever. */
export interface Retention {
  readonly succeeded: Duration.Duration
  /** Failed and canceled tasks. */
  readonly failed: Duration.Duration
}

/**
 * Deletes, in one bounded statement, finished tasks whose retention has passed, oldest first:
 * `succeeded` ones finished longer than `retention.succeeded` ago, `failed` and `canceled` ones
 * longer than `retention.failed`. A task some of whose children its attempt still holds is kept (the settler
 * decides those first). It walks the index on `finished_at` of finished tasks, never the table,
 * and skips rows another statement holds. Returns how many it deleted.
 */
export const deleteFinished = (tables: Tables, retention: Retention, limit: number) =>
  Effect.gen(function*() {
    const kept = (duration: Duration.Duration) => Duration.isFinite(duration)
    if (!kept(retention.succeeded) && !kept(retention.failed)) return 0
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const millis = (duration: Duration.Duration) => kept(duration) ? Duration.toMillis(duration) : 0
    // Literal statuses, so that the planner sees the finished-tasks index's predicate implied.
    const statuses = !kept(retention.failed)
      ? sql`t.status = 'succeeded'`
      : !kept(retention.succeeded)
      ? sql`t.status IN ('failed', 'canceled')`
      : sql`t.status IN ('succeeded', 'failed', 'canceled')`
    const shortest = Math.min(
      ...[retention.succeeded, retention.failed].filter(kept).map(Duration.toMillis)
    )
    const rows = yield* sql<{ deleted: number }>`
      WITH doomed AS (
        SELECT t.id FROM ${tasks} AS t
        WHERE ${statuses}
          AND t.finished_at < now() - ${shortest} * interval '1 millisecond'
          AND t.finished_at < now() - (CASE t.status WHEN 'succeeded' THEN ${millis(retention.succeeded)}::float8
                                                     ELSE ${millis(retention.failed)}::float8 END) * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM ${tasks} AS c WHERE c.parent_id = t.id AND c.held_by IS NOT NULL)
        ORDER BY t.finished_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      ),
      deleted AS (DELETE FROM ${tasks} AS t USING doomed WHERE t.id = doomed.id RETURNING 1)
      SELECT count(*)::int AS deleted FROM deleted`.withoutTransform
    return rows[0]?.deleted ?? 0
  })
