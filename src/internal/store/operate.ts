import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { type Guarded, guarded, type Refused } from "./guarded.js"
import { notifyKeys } from "./notify.js"
import { stopRequested } from "./stop.js"
import type { Tables } from "./tables.js"

type Change = Effect.Effect<Guarded, SqlError, SqlClient.SqlClient>

/** Runs `statement` (a query returning the changed `id`s, in order) and returns them. */
const changedIds = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<{ id: string }>, SqlError>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.map(statement(sql), (rows) => rows.map((row) => row.id)))

/**
 * Makes finished tasks (succeeded, failed, canceled) runnable again at once: attempts start from
 * zero, checkpoint and progress are cleared, `last_error` keeps the last failure until a new one
 * replaces it. Refused when an unfinished
 * task now holds a task's unique key.
 */
export const rerun = (tables: Tables, ids: ReadonlyArray<string>): Change =>
  guarded(
    tables,
    ids,
    TaskStatus.ended,
    changedIds((sql) =>
      sql<{ id: string }>`
        WITH rerun AS (
          UPDATE ${sql(tables.tasks)} AS t SET status = ${TaskStatus.initialized}, attempt = 0, lost_count = 0,
            run_at = now(), started_at = NULL, finished_at = NULL, expires_at = NULL, kept_token = NULL, checkpoint = NULL, progress = NULL, result = NULL,
            updated_at = now()
          WHERE t.id = ANY(${ids}::bigint[]) AND t.status = ANY(${TaskStatus.ended}::text[])
          RETURNING t.id, t.key
        ),
        notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM rerun`)})
        SELECT id::text AS id FROM rerun CROSS JOIN notified ORDER BY rerun.id`.withoutTransform
    ),
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.map(
        // Held by an unfinished task, or by an earlier task of this same request (both would hold it).
        sql<{ id: string; status: TaskStatus.TaskStatus; holder: string }>`
          SELECT t.id::text AS id, t.status, min(other.id)::text AS holder
          FROM ${sql(tables.tasks)} AS t JOIN ${sql(tables.tasks)} AS other
            ON other.key = t.key AND other.unique_key = t.unique_key AND other.id <> t.id
           AND (other.status = ANY(${TaskStatus.unfinished}::text[]) OR (other.id = ANY(${ids}::bigint[]) AND other.id < t.id))
          WHERE t.id = ANY(${ids}::bigint[]) GROUP BY t.id, t.status ORDER BY t.id`.withoutTransform,
        (rows) => rows.map((row): Refused => ({ id: row.id, status: row.status, reason: `task ${row.holder} holds its unique key` }))
      ))
  )

/** Deletes tasks that are not running (cancel a running one first); the siblings that waited for them may run. */
export const remove = (tables: Tables, ids: ReadonlyArray<string>): Change =>
  guarded(
    tables,
    ids,
    TaskStatus.TaskStatus.literals.filter((status) => status !== TaskStatus.running),
    changedIds((sql) =>
      sql<{ id: string }>`
        WITH removed AS (
          DELETE FROM ${sql(tables.tasks)} AS t
          WHERE t.id = ANY(${ids}::bigint[]) AND t.status <> ${TaskStatus.running}
          RETURNING t.id
        ),
        unblocked AS (
          UPDATE ${sql(tables.tasks)} AS next SET waiting_for = NULL, updated_at = now()
          WHERE next.waiting_for IN (SELECT id FROM removed) AND NOT (next.id IN (SELECT id FROM removed))
            AND NOT (next.held_by IS NOT NULL AND next.parent_id IN (SELECT id FROM removed))
          RETURNING next.key, next.held_by
        ),
        -- Children a removed task's attempt still holds would wait for it forever: they go with it.
        dropped_children AS (
          DELETE FROM ${sql(tables.tasks)} AS c USING removed
          WHERE c.parent_id = removed.id AND c.held_by IS NOT NULL AND NOT (c.id = ANY(${ids}::bigint[]))
          RETURNING c.id
        ),
        notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM unblocked WHERE held_by IS NULL`)})
        SELECT id::text AS id FROM removed CROSS JOIN notified CROSS JOIN (SELECT count(*) FROM dropped_children) AS dropped
        ORDER BY removed.id`.withoutTransform
    )
  )

/** Where `move` puts waiting tasks; each field left out stays as it is (`owner: null` clears it). */
export interface Placement {
  readonly queue?: string | undefined
  readonly priority?: number | undefined
  readonly owner?: string | null | undefined
  readonly runAt?: Date | undefined
}

/** Changes the queue, priority, owner or due time of waiting or paused tasks, and wakes workers for them. */
export const move = (tables: Tables, ids: ReadonlyArray<string>, to: Placement): Change =>
  guarded(
    tables,
    ids,
    [TaskStatus.initialized, TaskStatus.paused],
    changedIds((sql) =>
      sql<{ id: string }>`
        WITH moved AS (
          UPDATE ${sql(tables.tasks)} AS t SET
            queue = coalesce(${to.queue ?? null}::text, t.queue),
            priority = coalesce(${to.priority ?? null}::integer, t.priority),
            owner = CASE WHEN ${to.owner !== undefined} THEN ${to.owner ?? null}::text ELSE t.owner END,
            run_at = coalesce(${to.runAt ?? null}::timestamptz, t.run_at),
            updated_at = now()
          WHERE t.id = ANY(${ids}::bigint[]) AND t.status IN (${TaskStatus.initialized}, ${TaskStatus.paused})
          RETURNING t.id, t.key, t.status
        ),
        notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM moved WHERE status = ${TaskStatus.initialized}`)})
        SELECT id::text AS id FROM moved CROSS JOIN notified ORDER BY moved.id`.withoutTransform
    )
  )

/**
 * Pauses tasks: waiting ones become `paused` at once; running ones get `stop_request = 'pause'`
 * (unless a cancel was asked) and a NOTIFY to their node, which interrupts the handler: the
 * attempt's end then makes the task `paused`, its attempt not counted. Returns the ids changed;
 * tasks in other states are left alone.
 */
export const pause = (tables: Tables, ids: ReadonlyArray<string>) =>
  changedIds((sql) =>
    sql<{ id: string }>`
      WITH paused AS (
        UPDATE ${sql(tables.tasks)} AS t SET status = ${TaskStatus.paused}, updated_at = now()
        WHERE t.id = ANY(${ids}::bigint[]) AND t.status = ${TaskStatus.initialized}
        RETURNING t.id
      ),
      requested AS (
        UPDATE ${sql(tables.tasks)} AS t SET stop_request = 'pause', updated_at = now()
        WHERE t.id = ANY(${ids}::bigint[]) AND t.status = ${TaskStatus.running} AND t.stop_request IS NULL
        RETURNING t.id, t.claim_token
      ),
      notified AS (${notifyKeys(sql, tables, sql`SELECT ${stopRequested} || claim_token::text AS key FROM requested`)})
      SELECT id::text AS id FROM (SELECT id FROM paused UNION SELECT id FROM requested) AS changed
        CROSS JOIN notified ORDER BY id`.withoutTransform
  )
