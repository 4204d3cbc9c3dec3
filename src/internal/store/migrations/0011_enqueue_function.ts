import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The body of `enqueue`: one statement that inserts the tasks given as parallel arrays, in input
 * order (ids are drawn in `ordinal` order), skips a task whose unique key an unfinished task holds,
 * and sends one NOTIFY per distinct key of the tasks it made runnable (delivered only if the
 * surrounding transaction commits). With `p_unless_limited`, it inserts nothing and answers one
 * row with `limited` when one of the tasks' queues has a size limit: the caller then checks the
 * limit under a lock and calls again without the guard.
 *
 * A constant text: the function runs with `search_path` set to its own schema, so the same body
 * serves every schema, and PL/pgSQL keeps the statement's plan for the connection's lifetime where
 * a statement sent as text is parsed and planned on every call (the planning costs more than the
 * insert).
 */
const body = `
BEGIN
  IF p_unless_limited AND EXISTS (SELECT 1 FROM queues WHERE name = ANY(p_queues) AND max_size IS NOT NULL) THEN
    RETURN QUERY SELECT NULL::text, NULL::text, true;
    RETURN;
  END IF;
  RETURN QUERY
  WITH inserted AS (
    INSERT INTO tasks (key, queue, priority, args, max_attempts, run_at, unique_key, owner, parent_id, root_id, held_by, status)
    SELECT i.key, i.queue, i.priority, i.args, i.max_attempts,
           coalesce(i.run_at, now() + i.delay_ms * interval '1 millisecond'), i.unique_key, i.owner, i.parent_id, i.root_id, i.held_by,
           CASE WHEN i.paused THEN 'paused' ELSE 'initialized' END
    FROM unnest(p_keys, p_queues, p_priorities, p_args, p_max_attempts, p_run_at, p_delay_ms, p_unique_keys, p_owners,
                p_parent_ids, p_root_ids, p_held_by, p_paused)
      WITH ORDINALITY AS i(key, queue, priority, args, max_attempts, run_at, delay_ms, unique_key, owner, parent_id, root_id, held_by, paused, ordinal)
    ORDER BY i.ordinal
    ON CONFLICT (key, unique_key) WHERE unique_key IS NOT NULL AND status IN ('initialized', 'paused', 'running')
    DO NOTHING
    RETURNING tasks.id, tasks.key, tasks.unique_key, tasks.status
  ),
  notified AS (
    SELECT count(pg_notify(p_channel, k.key)) AS keys
    FROM (SELECT DISTINCT inserted.key FROM inserted WHERE inserted.status = 'initialized') AS k
  )
  SELECT inserted.id::text, inserted.unique_key, false FROM inserted CROSS JOIN notified ORDER BY inserted.id;
END`

/**
 * `enqueue(...)`: the producer's insert as a function of the schema, so that it is planned once
 * per connection rather than once per call, on any connection the application hands us.
 */
export const addEnqueueFunction = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE FUNCTION ${sql(tables.enqueue)}(
        p_keys text[], p_queues text[], p_priorities int[], p_args jsonb[], p_max_attempts int[],
        p_run_at timestamptz[], p_delay_ms float8[], p_unique_keys text[], p_owners text[],
        p_parent_ids bigint[], p_root_ids bigint[], p_held_by uuid[], p_paused boolean[],
        p_channel text, p_unless_limited boolean
      ) RETURNS TABLE (task_id text, task_unique_key text, limited boolean)
      LANGUAGE plpgsql VOLATILE
      SET search_path = pg_catalog, ${sql(tables.schema)}, pg_temp
      AS ${sql.literal(`$enqueue$${body}$enqueue$`)}`
  })
