import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"
import { createEnqueueFunction, tracedShape } from "./enqueueFunction.js"

/**
 * What a task carries from where it was enqueued: the W3C `traceparent` of the enqueuing span
 * (each attempt's span is connected to it) and the definition's propagated context (JSON encoded
 * with its Schema, provided to the handler). A second `enqueue` takes both; the first stays beside
 * it (PostgreSQL tells them apart by their arguments), so producers of the previous version go on
 * enqueuing, without either, while workers are upgraded.
 */
export const addTrace = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(tables.tasks)} ADD COLUMN traceparent text, ADD COLUMN context jsonb`
    yield* createEnqueueFunction(tables, tracedShape)
  })
