import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/**
 * A CTE body that sends one NOTIFY per distinct task key that `keys` (a query with a `key` column,
 * usually over the statement's own data-modifying CTEs) yields. Sent from inside the statement, it
 * is delivered only if the surrounding transaction commits; the payload is the key, so a worker
 * ignores keys it has no handler for. Reference the CTE (CROSS JOIN it) so it always runs.
 */
export const notifyKeys = (sql: SqlClient.SqlClient, tables: Tables, keys: Fragment): Fragment =>
  sql`SELECT count(pg_notify(${tables.channel}, key)) AS keys FROM (SELECT DISTINCT key FROM (${keys}) AS k) AS distinct_keys`

/**
 * A CTE body for `notified` after a statement that took tasks off their nodes (`ended`: a query
 * with `key`, `queue` and `status` columns): wakes workers for those now runnable, for the
 * siblings an `unblocked` CTE freed, and for the slots of limited queues they left.
 */
export const wakeAfterTakingBack = (sql: SqlClient.SqlClient, tables: Tables, ended: Fragment): Fragment =>
  notifyKeys(
    sql,
    tables,
    sql`SELECT key FROM (${ended}) AS runnable WHERE status = ${TaskStatus.initialized}
      UNION SELECT key FROM unblocked WHERE held_by IS NULL
      UNION ${freedSlots(sql, tables, sql`SELECT queue FROM (${ended}) AS left_slots`)}`
  )

/**
 * The payload prefix (followed by the queue's name) announcing that a task of a queue with a
 * concurrency limit stopped running: tasks of any key may wait for that slot, so every worker looks.
 */
export const queueSlotFreed = "queue-slot:"

/**
 * A query with a `key` column for `notifyKeys`: one `queue-slot:<queue>` payload per limited queue
 * among `ended` (a query with a `queue` column: the tasks that stopped running).
 */
export const freedSlots = (sql: SqlClient.SqlClient, tables: Tables, ended: Fragment): Fragment =>
  sql`SELECT ${queueSlotFreed} || ended.queue AS key FROM (${ended}) AS ended
    JOIN ${sql(tables.queues)} AS q ON q.name = ended.queue
    WHERE q.concurrency IS NOT NULL OR q.node_concurrency IS NOT NULL`
