import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The free slots of every queue with a concurrency limit, as seen by the claim of `node`. Two
 * claimers counting at once could both take the last slot of a cluster-wide limit, so while one
 * exists, claims take turns on an advisory lock (held until the claim's statement commits). The
 * count is a query of its own inside this VOLATILE function: under READ COMMITTED it takes a new
 * snapshot after the lock, and so sees every claim committed before it, though the claim statement
 * that calls it started earlier. Lock and count run inside the claim statement: one round trip, and
 * a client that stalls cannot hold the lock.
 */
const queueCapsBody = `
BEGIN
  IF EXISTS (SELECT 1 FROM queues WHERE concurrency IS NOT NULL) THEN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.queues concurrency'));
  END IF;
  RETURN QUERY
    SELECT q.name, GREATEST(0, LEAST(
      q.concurrency - (SELECT count(*) FROM tasks AS r WHERE r.status = 'running' AND r.queue = q.name),
      q.node_concurrency - (SELECT count(*) FROM tasks AS r
        WHERE r.status = 'running' AND r.queue = q.name AND r.claimed_by = node)))::bigint
    FROM queues AS q WHERE q.concurrency IS NOT NULL OR q.node_concurrency IS NOT NULL;
END`

/**
 * Per-queue concurrency limits: `concurrency` across all nodes, `node_concurrency` on each node,
 * and the function the claim reads them through. The claim counts a limited queue's running tasks
 * with the first index. The fair policy reads the latest starts with the second, and walks the
 * (queue, owner) groups of waiting tasks, and each group's tasks in claim order, with the third
 * (held children left out: they are not claimable).
 */
export const addConcurrencyAndShares = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      ALTER TABLE ${sql(tables.queues)}
        ADD COLUMN concurrency      integer CHECK (concurrency > 0),
        ADD COLUMN node_concurrency integer CHECK (node_concurrency > 0)`
    // The body names its tables unqualified: the function's own search_path is the schema.
    yield* sql`
      CREATE FUNCTION ${sql(`${tables.schema}.queue_caps`)}(node text) RETURNS TABLE (queue text, free bigint)
      LANGUAGE plpgsql VOLATILE SET search_path = ${sql(tables.schema)}
      AS ${sql.literal(`$body$${queueCapsBody}$body$`)}`
    yield* sql`CREATE INDEX tasks_running_queue_idx ON ${sql(tables.tasks)} (queue, claimed_by)
      WHERE status = 'running'`
    yield* sql`CREATE INDEX tasks_started_idx ON ${sql(tables.tasks)} (started_at DESC) WHERE started_at IS NOT NULL`
    yield* sql`CREATE INDEX tasks_group_idx ON ${sql(tables.tasks)} (queue, (coalesce(owner, '')), priority DESC, run_at, id)
      WHERE status = 'initialized' AND held_by IS NULL`
  })
