import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tables } from "../tables.js"

/**
 * Incarnations: each start of a node writes a fresh token to its row, and the node's heartbeat,
 * hand-back, deregistration and maintenance lease present it. A process frozen past `nodeTimeout`
 * whose name a replacement has since taken acts on nothing of the replacement's when it wakes.
 * Stop workers of older versions before this migration: they do not present the token.
 */
export const addIncarnations = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE ${sql(tables.nodes)} ADD COLUMN incarnation uuid NOT NULL DEFAULT gen_random_uuid()`
    yield* sql`ALTER TABLE ${sql(tables.leases)} ADD COLUMN incarnation uuid`
  })
