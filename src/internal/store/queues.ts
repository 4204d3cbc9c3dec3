import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "./tables.js"

/** Creates or changes a queue's definition. */
export const defineQueue = (tables: Tables, queue: { readonly name: string; readonly maxSize: number | null }) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO ${sql(tables.queues)} (name, max_size) VALUES (${queue.name}, ${queue.maxSize})
      ON CONFLICT (name) DO UPDATE SET max_size = excluded.max_size, updated_at = now()`
  })
