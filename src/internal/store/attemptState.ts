import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/** What a handler stores about its attempt: a checkpoint and progress, each as JSON text (null: unchanged). */
export interface AttemptState {
  readonly id: string
  readonly claimToken: string
  readonly checkpoint: string | null
  readonly progress: string | null
}

/**
 * Stores a running attempt's checkpoint and progress, fenced by its claim: a write of an attempt
 * whose claim was taken away changes nothing. Returns whether it was applied. One update by
 * primary key, cheap enough to call every second.
 */
export const saveAttemptState = (tables: Tables, state: AttemptState) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ id: string }>`
      UPDATE ${sql(tables.tasks)} SET
        checkpoint = coalesce(${state.checkpoint}::jsonb, checkpoint),
        progress = coalesce(${state.progress}::jsonb, progress),
        updated_at = now()
      WHERE id = ${state.id}::bigint AND claim_token = ${state.claimToken}::uuid AND status = ${TaskStatus.running}
      RETURNING id::text AS id`.withoutTransform
    return rows.length === 1
  })
