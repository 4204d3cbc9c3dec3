import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Per-queue concurrency limits: `concurrency` across all nodes, `node_concurrency` on each node.
 * The claim counts a limited queue's running tasks with the first index. The fair policy reads the
 * latest starts with the second, and walks the (queue, owner) groups of waiting tasks, and each
 * group's tasks in claim order, with the third (held children left out: they are not claimable).
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
    yield* sql`CREATE INDEX tasks_group_idx ON ${sql(tables.tasks)} (queue, (coalesce(owner, '')), priority DESC, run_at, id)
      WHERE status = 'initialized' AND held_by IS NULL`
  })
