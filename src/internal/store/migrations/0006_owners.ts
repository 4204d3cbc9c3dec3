import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/** The owner (user, tenant) a task is enqueued for: the claim shares work fairly between owners. */
export const addOwners = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(tables.tasks)} ADD COLUMN owner text CHECK (owner <> '')`
  })
