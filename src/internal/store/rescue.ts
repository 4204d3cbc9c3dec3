import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { clearedClaim, isEnded, withError } from "./finish.js"
import { wakeAfterTakingBack } from "./notify.js"
import { expiresAt } from "./retention.js"
import type { Tables } from "./tables.js"
import { unblockedBy } from "./waits.js"

export interface RescueRequest {
  readonly limit: number
  /** Losing the worker this many times in a row fails the task as poison. */
  readonly maxWorkerLosses: number
}

export interface Rescued {
  readonly id: string
  readonly key: string
  readonly queue: string
  readonly status: TaskStatus.TaskStatus
}

/**
 * Takes back, in one bounded batch, running tasks whose claim lapsed: the lease was not renewed
 * (the node died or lost the database) or the attempt ran past its deadline (a hung node). The lost
 * attempt counts, its cause is recorded (`worker lost`), and the task is runnable again at once,
 * even when its retries are used up (the task did not fail: its worker did), unless it has now lost
 * its worker `maxWorkerLosses` times in a row: then it fails, so a task that kills its workers
 * cannot kill them forever. A runnable one keeps its due time, so it comes back at the front of its
 * group (the interrupted work resumes before newer work), and is announced with NOTIFY, so any idle
 * node picks it up immediately.
 */
export const rescueExpired = (tables: Tables, request: RescueRequest) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const isFinal = sql`(t.lost_count + 1 >= ${request.maxWorkerLosses})`
    // The lost attempt's error, in last_error and the attempts' errors.
    const lostError = sql`(format('attempt %s/%s: worker lost (%s, node %s)', t.attempt, t.max_attempts,
        CASE WHEN t.deadline_at < now() THEN 'deadline passed, node hung' ELSE 'lease expired' END, t.claimed_by)
      || CASE WHEN ${isFinal} THEN format('; failed as poison: lost its worker %s times in a row', t.lost_count + 1) ELSE '' END)`
    const rows = yield* sql<Rescued>`
      WITH lost AS (
        SELECT id, claim_token FROM ${tasks}
        WHERE status = ${TaskStatus.running} AND (lease_expires_at < now() OR deadline_at < now())
        ORDER BY id
        LIMIT ${request.limit}
        FOR UPDATE SKIP LOCKED
      ),
      rescued AS (
        UPDATE ${tasks} AS t SET
          lost_count = t.lost_count + 1,
          status = CASE WHEN t.stop_request = 'cancel' THEN ${TaskStatus.canceled}
                        WHEN ${isFinal} THEN ${TaskStatus.failed}
                        WHEN t.stop_request = 'pause' THEN ${TaskStatus.paused}
                        ELSE ${TaskStatus.initialized} END,
          last_error = ${lostError},
          errors = ${withError(sql, lostError)},
          finished_at = CASE WHEN ${isFinal} OR t.stop_request = 'cancel' THEN now() END,
          expires_at = CASE WHEN t.stop_request = 'cancel' THEN ${expiresAt(sql, tables, sql`${TaskStatus.canceled}::text`)}
                            WHEN ${isFinal} THEN ${expiresAt(sql, tables, sql`${TaskStatus.failed}::text`)} END,
          ${clearedClaim(sql)}
        FROM lost WHERE t.id = lost.id
        RETURNING t.id, t.key, t.queue, t.status
      ),
      -- A lost attempt is void: so are the children it submitted.
      dropped_children AS (
        DELETE FROM ${tasks} AS c USING lost WHERE c.held_by = lost.claim_token RETURNING c.id
      ),
      -- A task failed as poison (or canceled) has ended: the sibling after it may run.
      ${unblockedBy(sql, tables, sql`SELECT id FROM rescued WHERE ${isEnded(sql, sql`status`)}`)},
      notified AS (${wakeAfterTakingBack(sql, tables, sql`SELECT key, queue, status FROM rescued`)})
      SELECT rescued.id::text AS id, rescued.key, rescued.queue, rescued.status FROM rescued
        CROSS JOIN notified CROSS JOIN (SELECT count(*) FROM dropped_children) AS dropped`.withoutTransform
    return rows
  })
