import { SqlClient } from "@effect/sql"
import { Duration, Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"
import { claimedColumns } from "./taskRow.js"

/** What a worker asks for when it claims. */
export interface ClaimRequest {
  /** Only tasks with these keys (the ones this process has handlers for). */
  readonly keys: ReadonlyArray<string>
  /** At most this many (the free slots of the pool). */
  readonly limit: number
  /** Written to `claimed_by`, so an operator sees who runs what. */
  readonly nodeId: string
  /** The claim's lease: `lease_expires_at = now() + leaseDuration`. */
  readonly leaseDuration: Duration.Duration
}

/**
 * Claims up to `limit` runnable tasks in priority, then due-time order. `FOR UPDATE SKIP LOCKED`
 * makes concurrent claimers take disjoint rows without waiting on each other; each claimed row gets
 * a fresh claim token, which every later write of its attempt must present.
 */
export const claim = (tables: Tables, request: ClaimRequest) =>
  Effect.gen(function*() {
    if (request.keys.length === 0 || request.limit < 1) return []
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    return yield* sql`
      WITH next AS (
        SELECT id FROM ${tasks}
        WHERE status = ${TaskStatus.initialized} AND run_at <= now() AND key = ANY(${request.keys}::text[])
        ORDER BY priority DESC, run_at, id
        LIMIT ${request.limit}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE ${tasks} AS t SET
        status = ${TaskStatus.running},
        attempt = t.attempt + 1,
        claim_token = gen_random_uuid(),
        claimed_by = ${request.nodeId},
        lease_expires_at = now() + ${Duration.toMillis(request.leaseDuration)} * interval '1 millisecond',
        started_at = now(),
        updated_at = now()
      FROM next WHERE t.id = next.id
      RETURNING ${sql.literal(claimedColumns)}`.withoutTransform
  })
