import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * What operators and long tasks need: the `canceled` status; `stop_request`, an operator's request
 * to stop a running attempt (`cancel`, or `pause` to keep the task for later), which the node
 * running it acts on and which every end of that attempt honours; a task's last `checkpoint` and
 * its `progress` (written by its handler, fenced by the claim); the `result` of a succeeded task. The finished-tasks index the
 * cleaner walks now covers canceled tasks too.
 */
export const addOperations = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    yield* sql`ALTER TABLE ${tasks}
      DROP CONSTRAINT tasks_status_check,
      ADD CONSTRAINT tasks_status_check
        CHECK (status IN ('initialized', 'paused', 'running', 'succeeded', 'failed', 'canceled')),
      ADD COLUMN stop_request text CHECK (stop_request IN ('cancel', 'pause')),
      ADD CONSTRAINT stop_request_while_running CHECK (stop_request IS NULL OR status = 'running'),
      ADD COLUMN checkpoint jsonb,
      ADD COLUMN progress jsonb,
      ADD COLUMN result jsonb`
    yield* sql`DROP INDEX ${sql(`${tables.schema}.tasks_finished_idx`)}`
    yield* sql`CREATE INDEX tasks_finished_idx ON ${tasks} (finished_at)
      WHERE status IN ('succeeded', 'failed', 'canceled')`
  })
