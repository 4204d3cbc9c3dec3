import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * The errors of a task's failed attempts, newest last (at most the last ten): `errors`, a JSON
 * array of `{ attempt, at, error }`, beside `last_error`. Null until an attempt fails.
 */
export const addAttemptErrors = (tables: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ALTER TABLE ${sql(tables.tasks)} ADD COLUMN errors jsonb`)
