import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Retention per task definition: how long finished tasks of each key are kept, by status (`*`
 * holds the workers' defaults; null falls back to it, -1 keeps forever), and each finished task's
 * `expires_at`, fixed when it finishes, which the cleaner deletes by. Tasks finished before this
 * migration expire by the default retention (1 day succeeded, 7 days failed or canceled).
 */
export const addRetention = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`CREATE TABLE ${sql(tables.retention)} (
      key          text PRIMARY KEY,
      succeeded_ms bigint,
      failed_ms    bigint,
      canceled_ms  bigint
    )`
    yield* sql`ALTER TABLE ${tasks} ADD COLUMN expires_at timestamptz`
    yield* sql`UPDATE ${tasks} SET expires_at = finished_at + CASE status WHEN 'succeeded' THEN interval '1 day' ELSE interval '7 days' END
      WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at IS NOT NULL`
    yield* sql`CREATE INDEX tasks_expires_idx ON ${tasks} (expires_at) WHERE expires_at IS NOT NULL`
  })
