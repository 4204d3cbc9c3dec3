import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"
import { rowColumns } from "./taskRow.js"

export interface StuckRequest {
  /** Due but not started for longer than this. */
  readonly initializedTimeout: Duration.Duration
  /** Running for longer than this. */
  readonly runningTimeout: Duration.Duration
  readonly limit: number
}

/**
 * Abnormal tasks: due and still waiting after `initializedTimeout` (no node has a handler for the
 * key, or every pool is saturated), or running for longer than `runningTimeout`. Oldest first.
 * Children held by their parent's attempt or waiting for a sibling are not due yet.
 */
export const findStuck = (tables: Tables, request: StuckRequest) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql`
      SELECT ${sql.literal(rowColumns)} FROM ${sql(tables.tasks)}
      WHERE (status = ${TaskStatus.initialized} AND held_by IS NULL AND waiting_for IS NULL
             AND run_at < now() - ${Duration.toMillis(request.initializedTimeout)} * interval '1 millisecond')
         OR (status = ${TaskStatus.running}
             AND started_at < now() - ${Duration.toMillis(request.runningTimeout)} * interval '1 millisecond')
      ORDER BY id
      LIMIT ${request.limit}`.withoutTransform
  })
