import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Deduplication and delayed runs. A unique key is enforced per task key, among unfinished tasks only
 * (`initialized`, `running`): once a task ends, its key may be used again. The due-time index lets
 * the claimer find when the next delayed task is due.
 */
export const addDelaysAndUniqueKeys = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`ALTER TABLE ${tasks} ADD COLUMN unique_key text CHECK (unique_key <> '')`
    yield* sql`CREATE UNIQUE INDEX tasks_unique_key_idx ON ${tasks} (key, unique_key)
      WHERE unique_key IS NOT NULL AND status IN ('initialized', 'running')`
    yield* sql`CREATE INDEX tasks_due_idx ON ${tasks} (run_at) WHERE status = 'initialized'`
  })
