import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { notifyKeys } from "./notify.js"
import type { Tables } from "./tables.js"

/**
 * Moves the given tasks from one status to another, guarded by the first in the statement;
 * returns the ids changed, in id order (the others were not in `from`). With `wake`, workers are
 * told about the changed tasks' keys when the transaction commits.
 */
const moveStatus = (from: TaskStatus.TaskStatus, to: TaskStatus.TaskStatus, wake: boolean) =>
(tables: Tables, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ids.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const notified = wake
      ? sql`CROSS JOIN (${notifyKeys(sql, tables, sql`SELECT key FROM changed`)}) AS notified`
      : sql``
    const rows = yield* sql<{ id: string }>`
      WITH changed AS (
        UPDATE ${sql(tables.tasks)} SET status = ${to}, updated_at = now()
        WHERE id = ANY(${ids}::bigint[]) AND status = ${from}
        RETURNING id, key
      )
      SELECT changed.id::text AS id FROM changed ${notified} ORDER BY changed.id`.withoutTransform
    return rows.map((row) => row.id)
  })

/** Pauses waiting tasks (`initialized` only: running ones are not touched). */
export const pauseWaiting = moveStatus(TaskStatus.initialized, TaskStatus.paused, false)

/** Makes paused tasks runnable again and wakes workers. */
export const resumePaused = moveStatus(TaskStatus.paused, TaskStatus.initialized, true)
