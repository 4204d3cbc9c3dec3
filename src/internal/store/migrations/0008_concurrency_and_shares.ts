import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Per-queue concurrency limits: `concurrency` across all nodes, `node_concurrency` on each node.
 * The claim counts a limited queue's running tasks with the first index; the fair policy reads the
 * latest starts with the second.
 */
export const addConcurrencyAndShares = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      ALTER TABLE ${sql(tables.queues)}
        ADD COLUMN concurrency      integer CHECK (concurrency > 0),
        ADD COLUMN node_concurrency integer CHECK (node_concurrency > 0)`
    yield* sql`CREATE INDEX tasks_running_queue_idx ON ${sql(tables.tasks)} (queue, claimed_by)
      WHERE status = 'running'`
    yield* sql`CREATE INDEX tasks_started_idx ON ${sql(tables.tasks)} (started_at DESC) WHERE started_at IS NOT NULL`
  })
