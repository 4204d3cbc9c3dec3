import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import { notifyKeys } from "./notify.js"
import type { Tables } from "./tables.js"

/** Pauses waiting tasks (`initialized` only: running ones are not touched); returns the ids paused, in id order. */
export const pauseWaiting = (tables: Tables, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ids.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ id: string }>`
      WITH paused AS (
        UPDATE ${sql(tables.tasks)} SET status = ${TaskStatus.paused}, updated_at = now()
        WHERE id = ANY(${ids}::bigint[]) AND status = ${TaskStatus.initialized}
        RETURNING id
      )
      SELECT id::text AS id FROM paused ORDER BY id`.withoutTransform
    return rows.map((row) => row.id)
  })

/** Makes paused tasks runnable again and wakes workers; returns the ids resumed, in id order. */
export const resumePaused = (tables: Tables, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ids.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ id: string }>`
      WITH resumed AS (
        UPDATE ${sql(tables.tasks)} SET status = ${TaskStatus.initialized}, updated_at = now()
        WHERE id = ANY(${ids}::bigint[]) AND status = ${TaskStatus.paused}
        RETURNING id, key
      ),
      notified AS (${notifyKeys(sql, tables, sql`SELECT key FROM resumed`)})
      SELECT resumed.id::text AS id FROM resumed CROSS JOIN notified ORDER BY resumed.id`.withoutTransform
    return rows.map((row) => row.id)
  })
