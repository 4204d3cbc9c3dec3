import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Metric } from "effect"
import { forTask } from "../observability/metrics.js"
import * as TaskStatus from "../../TaskStatus.js"
import { type Guarded, guarded } from "./guarded.js"
import { notifyKeys } from "./notify.js"
import { expiresAt } from "./retention.js"
import type { Tables } from "./tables.js"

/** The NOTIFY payload prefix (followed by a claim token) asking the node running that attempt to stop it. */
export const stopRequested = "stop:"

/**
 * Cancels tasks, in one transaction. Waiting and paused ones become `canceled` at once, with every
 * waiting or paused descendant (children follow their parent), and the siblings that waited for
 * them may run. Running ones get `stop_request = 'cancel'` and a NOTIFY to their node, which
 * interrupts the handler; the attempt's end, whatever it is but a success or a failure, then makes
 * the task `canceled` (and the rescuer does, if the node is gone). When one of the ids is finished
 * or missing, nothing changes and the result says which.
 */
export const cancel = (tables: Tables, ids: ReadonlyArray<string>): Effect.Effect<Guarded, SqlError, SqlClient.SqlClient> =>
  guarded(tables, ids, TaskStatus.unfinished, Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<{ id: string; key: string; queue: string; isCanceled: boolean }>`
      WITH RECURSIVE waiting AS (
        SELECT id FROM ${tasks} WHERE id = ANY(${ids}::bigint[]) AND status IN (${TaskStatus.initialized}, ${TaskStatus.paused})
        UNION
        SELECT c.id FROM ${tasks} AS c JOIN waiting ON c.parent_id = waiting.id
        WHERE c.status IN (${TaskStatus.initialized}, ${TaskStatus.paused})
      ),
      canceled AS (
        UPDATE ${tasks} AS t SET status = ${TaskStatus.canceled}, finished_at = now(), updated_at = now(), held_by = NULL,
          expires_at = ${expiresAt(sql, tables, sql`${TaskStatus.canceled}::text`)}
        FROM waiting WHERE t.id = waiting.id
        RETURNING t.id, t.key, t.queue
      ),
      -- Siblings that waited for a canceled task may run (those canceled with it are left to that update).
      unblocked AS (
        UPDATE ${tasks} AS next SET waiting_for = NULL, updated_at = now()
        WHERE next.waiting_for IN (SELECT id FROM waiting) AND NOT (next.id IN (SELECT id FROM waiting))
        RETURNING next.key, next.held_by
      ),
      requested AS (
        UPDATE ${tasks} AS t SET stop_request = 'cancel', updated_at = now()
        WHERE t.id = ANY(${ids}::bigint[]) AND t.status = ${TaskStatus.running}
        RETURNING t.id, t.claim_token
      ),
      notified AS (${
      notifyKeys(
        sql,
        tables,
        sql`SELECT key FROM unblocked WHERE held_by IS NULL
          UNION SELECT ${stopRequested} || claim_token::text FROM requested`
      )
    })
      SELECT id::text AS id, key, queue, is_canceled AS "isCanceled"
      FROM (SELECT id, key, queue, true AS is_canceled FROM canceled
            UNION ALL SELECT id, NULL, NULL, false FROM requested) AS changed
        CROSS JOIN notified ORDER BY id`.withoutTransform
    // Canceled now; a running one is counted by its worker when its attempt ends canceled.
    for (const row of rows) {
      if (row.isCanceled) yield* Metric.increment(forTask(row.key, row.queue).canceled)
    }
    return rows.map((row) => row.id)
  }))
