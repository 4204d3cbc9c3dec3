import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/** What the database knows about why a task is where it is, read in one statement. */
export interface Facts {
  readonly id: string
  readonly key: string
  readonly queue: string
  readonly status: TaskStatus.TaskStatus
  readonly runAt: Date
  /** Whether `run_at` is still ahead of the database's clock. */
  readonly notDue: boolean
  readonly parentId: string | null
  readonly parentStatus: TaskStatus.TaskStatus | null
  readonly heldBy: string | null
  readonly waitingFor: string | null
  readonly siblingStatus: TaskStatus.TaskStatus | null
  readonly claimedBy: string | null
  readonly startedAt: Date | null
  readonly leaseExpiresAt: Date | null
  readonly stopRequest: "cancel" | "pause" | null
  readonly lastError: string | null
  readonly finishedAt: Date | null
  /** The queue's limits (null: none) and its running tasks by the nodes running them. */
  readonly concurrency: number | null
  readonly nodeConcurrency: number | null
  readonly nodesRunningQueue: ReadonlyArray<{ readonly node: string; readonly running: number }>
  /** Live nodes (heartbeat within their own timeout) with a handler for the key. */
  readonly liveHandlers: ReadonlyArray<string>
  /** Due, unblocked tasks of its group (queue and owner) ahead of it in claim order, counted up to 10,001. */
  readonly aheadInGroup: number
}

/** The facts about task `id` (None when there is no such task): one statement of indexed look-ups. */
export const explain = (tables: Tables, id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const rows = yield* sql<Facts>`
      SELECT t.id::text AS id, t.key, t.queue, t.status, t.run_at AS "runAt", t.run_at > now() AS "notDue",
        t.parent_id::text AS "parentId", (SELECT p.status FROM ${tasks} AS p WHERE p.id = t.parent_id) AS "parentStatus",
        t.held_by::text AS "heldBy", t.waiting_for::text AS "waitingFor",
        (SELECT s.status FROM ${tasks} AS s WHERE s.id = t.waiting_for) AS "siblingStatus",
        t.claimed_by AS "claimedBy", t.started_at AS "startedAt", t.lease_expires_at AS "leaseExpiresAt",
        t.stop_request AS "stopRequest", t.last_error AS "lastError", t.finished_at AS "finishedAt",
        q.concurrency, q.node_concurrency AS "nodeConcurrency",
        coalesce((SELECT json_agg(json_build_object('node', per.claimed_by, 'running', per.n) ORDER BY per.claimed_by)
          FROM (SELECT claimed_by, count(*)::int AS n FROM ${tasks} AS r
                WHERE r.queue = t.queue AND r.status = ${TaskStatus.running} GROUP BY claimed_by) AS per), '[]') AS "nodesRunningQueue",
        ARRAY(SELECT n.id FROM ${sql(tables.nodes)} AS n
              WHERE t.key = ANY(n.keys) AND n.heartbeat_at > now() - n.timeout_ms * interval '1 millisecond'
              ORDER BY n.id) AS "liveHandlers",
        (SELECT count(*)::int FROM (
          SELECT 1 FROM ${tasks} AS a
          WHERE a.status = ${TaskStatus.initialized} AND a.queue = t.queue AND coalesce(a.owner, '') = coalesce(t.owner, '')
            AND a.run_at <= now() AND a.waiting_for IS NULL AND a.held_by IS NULL AND a.id <> t.id
            AND (a.priority > t.priority OR (a.priority = t.priority AND (a.run_at, a.id) < (t.run_at, t.id)))
          LIMIT 10001) AS ahead) AS "aheadInGroup"
      FROM ${tasks} AS t LEFT JOIN ${sql(tables.queues)} AS q ON q.name = t.queue
      WHERE t.id = ${id}::bigint`.withoutTransform
    return rows[0]
  })
