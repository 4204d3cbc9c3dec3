import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import type { Tables } from "./tables.js"

/** How long finished tasks of one key are kept, by status, in milliseconds: null falls back to the default (`*`), -1 keeps forever. */
export interface Retention {
  readonly key: string
  readonly succeeded: number | null
  readonly failed: number | null
  readonly canceled: number | null
}

/** The key of the row holding the workers' default retention. */
export const defaultKey = "*"

/**
 * When a task `t` that ends with `status` (an SQL expression) expires: now plus `given` (the
 * retention the ending statement brings, in milliseconds, when it knows it), else its key's
 * retention for that status, else the default's, else 1 day (succeeded) or 7 days; null when kept
 * forever. At most two look-ups by primary key.
 */
export const expiresAt = (sql: SqlClient.SqlClient, tables: Tables, status: Fragment, given: Fragment = sql`NULL`): Fragment => {
  const retention = sql(tables.retention)
  const column = sql`CASE ${status} WHEN 'succeeded' THEN r.succeeded_ms WHEN 'failed' THEN r.failed_ms ELSE r.canceled_ms END`
  return sql`(SELECT CASE WHEN keep.ms < 0 THEN NULL ELSE now() + keep.ms * interval '1 millisecond' END FROM (
    SELECT coalesce(
      ${given}::bigint,
      (SELECT ${column} FROM ${retention} AS r WHERE r.key = t.key),
      (SELECT ${column} FROM ${retention} AS r WHERE r.key = ${defaultKey}),
      CASE ${status} WHEN 'succeeded' THEN 86400000 ELSE 604800000 END
    ) AS ms) AS keep)`
}

/** Writes retention rows (replacing those of the same keys). */
export const writeRetention = (tables: Tables, rows: ReadonlyArray<Retention>) =>
  Effect.gen(function*() {
    if (rows.length === 0) return
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO ${sql(tables.retention)} AS r (key, succeeded_ms, failed_ms, canceled_ms)
      SELECT * FROM unnest(
        ${rows.map((row) => row.key)}::text[], ${rows.map((row) => row.succeeded)}::bigint[],
        ${rows.map((row) => row.failed)}::bigint[], ${rows.map((row) => row.canceled)}::bigint[])
      ON CONFLICT (key) DO UPDATE SET succeeded_ms = excluded.succeeded_ms, failed_ms = excluded.failed_ms,
        canceled_ms = excluded.canceled_ms
      WHERE (r.succeeded_ms, r.failed_ms, r.canceled_ms) IS DISTINCT FROM (excluded.succeeded_ms, excluded.failed_ms, excluded.canceled_ms)`
  })
