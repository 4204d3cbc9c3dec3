import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { freedSlots, notifyKeys, wakeAfterTakingBack } from "./notify.js"
import type { Incarnation } from "./nodes.js"
import { expiresAt } from "./retention.js"
import type { Tables } from "./tables.js"
import { isUnfinished, unblockedBy } from "./waits.js"

/** What every end of a claim (finish, hand-back, rescue) clears, in a SET list. */
export const clearedClaim = (sql: SqlClient.SqlClient) =>
  sql`claim_token = NULL, claimed_by = NULL, lease_expires_at = NULL, deadline_at = NULL, stop_request = NULL, updated_at = now()`

/**
 * The status a running task `t` gets when its attempt ends with `wouldBe` (an SQL expression): an
 * operator's stop request wins over a return to `initialized` (a retry, a hand-back, a snooze):
 * `cancel` makes it `canceled`, `pause` makes it `paused`. A success or a failure stands.
 */
export const honouringStopRequest = (sql: SqlClient.SqlClient, wouldBe: Fragment): Fragment =>
  sql`CASE WHEN ${wouldBe} = ${TaskStatus.initialized}
    THEN CASE t.stop_request WHEN 'cancel' THEN ${TaskStatus.canceled} WHEN 'pause' THEN ${TaskStatus.paused}
         ELSE ${TaskStatus.initialized} END
    ELSE ${wouldBe} END`

/** Errors kept per task in `errors`: the last attempts' (`last_error` is the newest's, whole). */
export const keptErrors = 10

/** Characters kept of each error in `errors`: a row stays small enough to list (`last_error` keeps the newest whole). */
export const keptErrorLength = 500

/**
 * `t.errors` with one more failed attempt's `error` (an SQL text expression) at its end, its
 * first `keptErrorLength` characters and the time in UTC, the oldest dropped past `keptErrors`.
 */
export const withError = (sql: SqlClient.SqlClient, error: Fragment): Fragment =>
  sql`(SELECT jsonb_agg(kept.e ORDER BY kept.n) FROM (
      SELECT e, n FROM jsonb_array_elements(coalesce(t.errors, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempt,
        'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'error', left(${error}, ${keptErrorLength})))) WITH ORDINALITY AS each(e, n)
      ORDER BY n DESC LIMIT ${keptErrors}) AS kept)`

/** Whether the status expression `status` ends the task. */
export const isEnded = (sql: SqlClient.SqlClient, status: Fragment): Fragment =>
  sql`${status} = ANY(${TaskStatus.ended}::text[])`

/** The end of one claimed attempt, as the store writes it. */
export interface Finish {
  readonly id: string
  readonly claimToken: string
  /**
   * `succeeded` or `failed` end the task; `initialized` makes it runnable again after `delayMillis`,
   * or, when that is null (a hand-back), at once with its due time kept: at the front of its group.
   */
  readonly status: TaskStatus.TaskStatus
  readonly delayMillis: number | null
  /** Recorded as `last_error` when present; the previous error is kept otherwise. */
  readonly error: string | null
  /** False for an attempt handed back by a stopping worker: it does not count. */
  readonly countsAsAttempt: boolean
  /** Whether the children the attempt submitted stay (it succeeded, or snoozed) or vanish with it. */
  readonly keepsChildren: boolean
  /** A succeeded attempt's result, as JSON text; null when the definition declares none. */
  readonly result: string | null
  /**
   * How long the task is kept once it ends, by its final status, in milliseconds (-1: forever), as
   * its definition and worker say; null to look it up in the retention table.
   */
  readonly keep?: { readonly succeeded: number; readonly failed: number; readonly canceled: number } | null | undefined
}

/**
 * Writes the ends of claimed attempts in one statement and returns the rows it applied to, with the
 * status each now has (an operator's stop request may have made it `canceled` or `paused`). Each row
 * is changed only while it is still `running` under the same claim token: a worker whose claim was
 * taken away (rescued, rerun, cancelled) cannot overwrite the newer truth, and its write matches
 * no row.
 */
export const finishIfClaimed = (tables: Tables, finishes: ReadonlyArray<Finish>) =>
  Effect.gen(function*() {
    if (finishes.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    // The status each task ends with, an operator's stop request honoured.
    const status = honouringStopRequest(sql, sql`f.status`)
    // The retention the worker brings for that status (null: look it up).
    const keep = sql`CASE ${status} WHEN 'succeeded' THEN f.keep_succeeded WHEN 'failed' THEN f.keep_failed ELSE f.keep_canceled END`
    return yield* sql<Applied>`
      WITH finished AS (
      UPDATE ${tasks} AS t SET
        status = ${status},
        attempt = CASE WHEN f.counts THEN t.attempt ELSE t.attempt - 1 END,
        run_at = CASE WHEN f.status = ${TaskStatus.initialized} AND f.delay_ms IS NOT NULL
                      THEN now() + f.delay_ms * interval '1 millisecond' ELSE t.run_at END,
        last_error = coalesce(f.error, t.last_error),
        errors = CASE WHEN f.error IS NULL THEN t.errors ELSE ${withError(sql, sql`f.error`)} END,
        lost_count = CASE WHEN f.counts THEN 0 ELSE t.lost_count END,
        kept_token = CASE WHEN f.keeps AND ${status} <> ${TaskStatus.canceled}
                     THEN f.token ELSE t.kept_token END,
        result = CASE WHEN f.status = ${TaskStatus.succeeded} THEN f.result::jsonb ELSE t.result END,
        finished_at = CASE WHEN ${isEnded(sql, status)} THEN now() END,
        expires_at = CASE WHEN ${isEnded(sql, status)} THEN ${expiresAt(sql, tables, status, keep)} END,
        ${clearedClaim(sql)}
      FROM unnest(
        ${finishes.map((finish) => finish.id)}::bigint[],
        ${finishes.map((finish) => finish.claimToken)}::uuid[],
        ${finishes.map((finish) => finish.status)}::text[],
        ${finishes.map((finish) => finish.delayMillis)}::float8[],
        ${finishes.map((finish) => finish.error)}::text[],
        ${finishes.map((finish) => finish.countsAsAttempt)}::boolean[],
        ${finishes.map((finish) => finish.keepsChildren)}::boolean[],
        ${finishes.map((finish) => finish.result)}::text[],
        ${finishes.map((finish) => finish.keep?.succeeded ?? null)}::float8[],
        ${finishes.map((finish) => finish.keep?.failed ?? null)}::float8[],
        ${finishes.map((finish) => finish.keep?.canceled ?? null)}::float8[]
      ) AS f(id, token, status, delay_ms, error, counts, keeps, result, keep_succeeded, keep_failed, keep_canceled)
      WHERE t.id = f.id AND t.claim_token = f.token AND t.status = ${TaskStatus.running}
      RETURNING t.id, t.key, t.queue, t.status, f.delay_ms, f.token, f.keeps
      ),
      -- The children an attempt submitted become runnable if it succeeded (or snoozed), and vanish
      -- otherwise (a canceled task's too).
      released_children AS (
        UPDATE ${tasks} AS c SET held_by = NULL, updated_at = now()
        FROM finished WHERE c.held_by = finished.token AND finished.keeps AND finished.status <> ${TaskStatus.canceled}
        RETURNING c.key, c.waiting_for
      ),
      -- An ended task no longer holds back the sibling submitted after it.
      ${unblockedBy(sql, tables, sql`SELECT id FROM finished WHERE ${isEnded(sql, sql`status`)}`)},
      dropped_children AS (
        DELETE FROM ${tasks} AS c USING finished
        WHERE c.held_by = finished.token AND (NOT finished.keeps OR finished.status = ${TaskStatus.canceled})
        RETURNING c.id
      ),
      -- Runnable now: handed back (a stop), released first children, the next siblings of ended
      -- tasks, and whatever waits for a slot of a queue with a concurrency limit.
      notified AS (${
      notifyKeys(
        sql,
        tables,
        sql`SELECT key FROM finished WHERE status = ${TaskStatus.initialized} AND coalesce(delay_ms, 0) = 0
          UNION SELECT key FROM released_children WHERE waiting_for IS NULL
          UNION SELECT key FROM unblocked WHERE held_by IS NULL
          UNION ${freedSlots(sql, tables, sql`SELECT queue FROM finished`)}`
      )
    })
      SELECT finished.id::text AS id, finished.status FROM finished
        CROSS JOIN notified CROSS JOIN (SELECT count(*) FROM dropped_children) AS dropped`.withoutTransform
  })

/** A finish that applied, and the status its task now has. */
export interface Applied {
  readonly id: string
  readonly status: TaskStatus.TaskStatus
}

/**
 * Hands back every task still claimed by a stopping node, except those whose handlers still run
 * (`stillRunning`: they could not be interrupted in time; their leases will lapse and they will be
 * rescued once they can no longer run here). Runnable at once, at the front of their group (their
 * due time is kept), and announced with NOTIFY; the unrecorded attempt is not counted. Guarded by
 * the node's name, its incarnation (a process whose name a replacement has taken hands back
 * nothing) and the `running` state.
 */
export const releaseClaimedBy = (tables: Tables, node: Incarnation, stillRunning: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<{ id: string }>`
      WITH targets AS (
        SELECT id, claim_token FROM ${tasks}
        WHERE claimed_by = ${node.nodeId} AND status = ${TaskStatus.running}
          AND NOT (claim_token = ANY(${stillRunning}::uuid[]))
          AND EXISTS (SELECT 1 FROM ${sql(tables.nodes)}
                      WHERE id = ${node.nodeId} AND incarnation = ${node.incarnation}::uuid)
        FOR UPDATE
      ),
      released AS (
        UPDATE ${tasks} AS t SET
          status = ${honouringStopRequest(sql, sql`${TaskStatus.initialized}::text`)},
          attempt = greatest(t.attempt - 1, 0),
          finished_at = CASE WHEN t.stop_request = 'cancel' THEN now() END,
          expires_at = CASE WHEN t.stop_request = 'cancel' THEN ${expiresAt(sql, tables, sql`${TaskStatus.canceled}::text`)} END,
          ${clearedClaim(sql)}
        FROM targets WHERE t.id = targets.id
        RETURNING t.id, t.key, t.queue, t.status
      ),
      -- The attempts are void: so are the children they submitted.
      dropped_children AS (
        DELETE FROM ${tasks} AS c USING targets WHERE c.held_by = targets.claim_token RETURNING c.id
      ),
      ${unblockedBy(sql, tables, sql`SELECT id FROM released WHERE status = ${TaskStatus.canceled}`)},
      notified AS (${wakeAfterTakingBack(sql, tables, sql`SELECT key, queue, status FROM released`)})
      SELECT released.id::text AS id FROM released
        CROSS JOIN notified CROSS JOIN (SELECT count(*) FROM dropped_children) AS dropped`.withoutTransform
    return rows.map((row) => row.id)
  })

/**
 * Settles children whose parent attempt ended without taking them along: inserted by an attempt
 * whose claim had already been taken away, or committed just after the parent's finish read its
 * children. A child of the attempt whose children were kept is released; any other is deleted,
 * as its attempt was void. Bounded; the maintenance leader runs it with each rescue round.
 */
export const settleOrphanChildren = (tables: Tables, limit: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<{ released: number; dropped: number }>`
      WITH orphans AS (
        SELECT c.id, c.held_by, parent.kept_token FROM ${tasks} AS c JOIN ${tasks} AS parent ON parent.id = c.parent_id
        WHERE c.held_by IS NOT NULL
          AND NOT (parent.status = ${TaskStatus.running} AND parent.claim_token = c.held_by)
          -- A sibling before it still running may be ending right now, in a statement that cannot
          -- see this child yet: decide it in a later round, once that sibling has ended or not.
          AND NOT EXISTS (SELECT 1 FROM ${tasks} AS before
                          WHERE before.id = c.waiting_for AND before.status = ${TaskStatus.running})
        LIMIT ${limit}
        FOR UPDATE OF c SKIP LOCKED
      ),
      released AS (
        UPDATE ${tasks} AS c SET held_by = NULL, updated_at = now(),
          -- committed after the sibling before it was released, that sibling may have ended already
          waiting_for = CASE WHEN ${isUnfinished(sql, tables, sql`c.waiting_for`)} THEN c.waiting_for END
        FROM orphans WHERE c.id = orphans.id AND orphans.kept_token = orphans.held_by
        RETURNING c.key, c.waiting_for
      ),
      dropped AS (
        DELETE FROM ${tasks} AS c USING orphans
        WHERE c.id = orphans.id AND orphans.kept_token IS DISTINCT FROM orphans.held_by
        RETURNING c.id
      ),
      notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM released WHERE waiting_for IS NULL`)})
      SELECT (SELECT count(*)::int FROM released) AS released, (SELECT count(*)::int FROM dropped) AS dropped
      FROM notified`.withoutTransform
    return rows[0] ?? { released: 0, dropped: 0 }
  })

