import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/** One input of the enqueue function: a parallel array `p_<name>` of `type`, unnested as `i.<name>`. */
interface Input {
  readonly name: string
  readonly type: string
}

/** A column the insert writes, from the unnested inputs. */
interface Column {
  readonly name: string
  readonly value: string
}

/** The function's shape in one schema version: its inputs and what it writes from them. */
export interface EnqueueShape {
  readonly inputs: ReadonlyArray<Input>
  readonly columns: ReadonlyArray<Column>
}

const input = (name: string, type: string): Input => ({ name, type })
const column = (name: string, value = `i.${name}`): Column => ({ name, value })

/** The function as migration 0011 created it. */
export const firstShape: EnqueueShape = {
  inputs: [
    input("key", "text"),
    input("queue", "text"),
    input("priority", "int"),
    input("args", "jsonb"),
    input("max_attempts", "int"),
    input("run_at", "timestamptz"),
    input("delay_ms", "float8"),
    input("unique_key", "text"),
    input("owner", "text"),
    input("parent_id", "bigint"),
    input("root_id", "bigint"),
    input("held_by", "uuid"),
    input("paused", "boolean")
  ],
  columns: [
    column("key"),
    column("queue"),
    column("priority"),
    column("args"),
    column("max_attempts"),
    column("run_at", "coalesce(i.run_at, now() + i.delay_ms * interval '1 millisecond')"),
    column("unique_key"),
    column("owner"),
    column("parent_id"),
    column("root_id"),
    column("held_by"),
    column("status", "CASE WHEN i.paused THEN 'paused' ELSE 'initialized' END")
  ]
}

/** Migration 0016's: the enqueuing span's `traceparent` and the definition's propagated context. */
export const tracedShape: EnqueueShape = {
  inputs: [...firstShape.inputs, input("traceparent", "text"), input("context", "jsonb")],
  columns: [...firstShape.columns, column("traceparent"), column("context")]
}

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
const body = (shape: EnqueueShape) => `
BEGIN
  IF p_unless_limited AND EXISTS (SELECT 1 FROM queues WHERE name = ANY(p_queue) AND max_size IS NOT NULL) THEN
    RETURN QUERY SELECT NULL::text, NULL::text, true;
    RETURN;
  END IF;
  RETURN QUERY
  WITH inserted AS (
    INSERT INTO tasks (${shape.columns.map((c) => c.name).join(", ")})
    SELECT ${shape.columns.map((c) => c.value).join(", ")}
    FROM unnest(${shape.inputs.map((i) => `p_${i.name}`).join(", ")})
      WITH ORDINALITY AS i(${shape.inputs.map((i) => i.name).join(", ")}, ordinal)
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
export const createEnqueueFunction = (tables: Tables, shape: EnqueueShape) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const parameters = shape.inputs.map((i) => `p_${i.name} ${i.type}[]`).join(", ")
    yield* sql`
      CREATE FUNCTION ${sql(tables.enqueue)}(${sql.literal(parameters)}, p_channel text, p_unless_limited boolean)
      RETURNS TABLE (task_id text, task_unique_key text, limited boolean)
      LANGUAGE plpgsql VOLATILE
      SET search_path = pg_catalog, ${sql(tables.schema)}, pg_temp
      AS ${sql.literal(`$enqueue$${body(shape)}$enqueue$`)}`
  })
