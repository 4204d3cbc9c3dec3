import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Queue definitions, in the database so every node and producer agrees. A queue needs a row only
 * to carry a limit; tasks may name any queue.
 */
export const createQueues = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE ${sql(tables.queues)} (
        name       text PRIMARY KEY CHECK (name <> ''),
        max_size   integer CHECK (max_size > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`
    yield* sql`CREATE INDEX tasks_unfinished_queue_idx ON ${sql(tables.tasks)} (queue)
      WHERE status IN ('initialized', 'running')`
  })
