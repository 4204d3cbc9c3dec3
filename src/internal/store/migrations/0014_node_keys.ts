import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * What each node runs and how long it may be silent: the task keys it has handlers for (written by
 * its heartbeat) and its `nodeTimeout` (written at registration), so `TaskAdmin.explain` can tell
 * whether any live node would run a task.
 */
export const addNodeKeys = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(tables.nodes)}
      ADD COLUMN keys text[] NOT NULL DEFAULT '{}',
      ADD COLUMN timeout_ms integer NOT NULL DEFAULT 10000`
  })
