import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "./tables.js"

/** A task row to insert, its arguments already encoded to JSON text. */
export interface NewTask {
  readonly key: string
  readonly queue: string
  readonly priority: number
  readonly args: string
  readonly maxAttempts: number
}

/**
 * Inserts tasks in one statement and returns their ids in input order. The statement also sends
 * one NOTIFY per distinct key: it runs on the caller's transaction connection when there is one,
 * so the rows exist, and workers are woken, only if that transaction commits.
 */
export const insertMany = (tables: Tables, tasks: ReadonlyArray<NewTask>) =>
  Effect.gen(function*() {
    if (tasks.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    // Ids are drawn in `ordinal` order, so sorting the returned ids restores the input order.
    const rows = yield* sql<{ id: string }>`
      WITH inserted AS (
        INSERT INTO ${sql(tables.tasks)} (key, queue, priority, args, max_attempts)
        SELECT key, queue, priority, args, max_attempts
        FROM unnest(
          ${tasks.map((task) => task.key)}::text[],
          ${tasks.map((task) => task.queue)}::text[],
          ${tasks.map((task) => task.priority)}::int[],
          ${tasks.map((task) => task.args)}::jsonb[],
          ${tasks.map((task) => task.maxAttempts)}::int[]
        ) WITH ORDINALITY AS input(key, queue, priority, args, max_attempts, ordinal)
        ORDER BY ordinal
        RETURNING id, key
      ),
      notified AS (
        SELECT count(pg_notify(${tables.channel}, key)) AS keys FROM (SELECT DISTINCT key FROM inserted) AS distinct_keys
      )
      SELECT inserted.id::text AS id FROM inserted CROSS JOIN notified ORDER BY inserted.id`.withoutTransform
    return rows.map((row) => row.id)
  })
