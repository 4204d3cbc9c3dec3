import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The `paused` status: a task created paused (or paused by an operator while it waits) is never
 * claimed until it is resumed. It is unfinished, so it keeps its unique key and counts towards its
 * queue's size, and the indexes over unfinished tasks are rebuilt to say so.
 */
export const addPaused = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`ALTER TABLE ${tasks} DROP CONSTRAINT tasks_status_check`
    yield* sql`ALTER TABLE ${tasks} ADD CONSTRAINT tasks_status_check
      CHECK (status IN ('initialized', 'paused', 'running', 'succeeded', 'failed'))`
    yield* sql`DROP INDEX ${sql(`${tables.schema}.tasks_unique_key_idx`)}`
    yield* sql`CREATE UNIQUE INDEX tasks_unique_key_idx ON ${tasks} (key, unique_key)
      WHERE unique_key IS NOT NULL AND status IN ('initialized', 'paused', 'running')`
    yield* sql`DROP INDEX ${sql(`${tables.schema}.tasks_unfinished_queue_idx`)}`
    yield* sql`CREATE INDEX tasks_unfinished_queue_idx ON ${tasks} (queue)
      WHERE status IN ('initialized', 'paused', 'running')`
  })
