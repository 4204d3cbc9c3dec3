import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/** A node as operators see it: registered by a worker, live while its heartbeat is within its timeout. */
export interface NodeView {
  readonly id: string
  readonly host: string
  readonly pid: number
  readonly startedAt: Date
  readonly heartbeatAt: Date
  /** Seconds since its last heartbeat, on the database's clock. */
  readonly silentSeconds: number
  /** Its heartbeat is within its node timeout. */
  readonly isLive: boolean
  /** It holds the maintenance lease now. */
  readonly isLeader: boolean
  /** Task keys it runs. */
  readonly keys: ReadonlyArray<string>
  /** Attempts it runs now. */
  readonly running: number
}

/**
 * Every registered node, by id, with what it runs now and whether it leads maintenance. Running
 * attempts are counted from the index of running tasks (few: at most the nodes' pools).
 */
export const nodes = (tables: Tables, leaseName: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<NodeView>`
      SELECT n.id, n.host, n.pid, n.started_at AS "startedAt", n.heartbeat_at AS "heartbeatAt",
        extract(epoch FROM now() - n.heartbeat_at)::float8 AS "silentSeconds",
        n.heartbeat_at + n.timeout_ms * interval '1 millisecond' > now() AS "isLive",
        coalesce(l.holder = n.id AND l.incarnation = n.incarnation AND l.expires_at > now(), false) AS "isLeader",
        n.keys, coalesce(r.running, 0)::int AS running
      FROM ${sql(tables.nodes)} AS n
      LEFT JOIN ${sql(tables.leases)} AS l ON l.name = ${leaseName}
      LEFT JOIN (
        SELECT claimed_by, count(*) AS running FROM ${sql(tables.tasks)}
        WHERE status = ${TaskStatus.running} GROUP BY claimed_by
      ) AS r ON r.claimed_by = n.id
      ORDER BY n.id`.withoutTransform)

/** How many finished tasks are past their retention (`expires_at`) and would be deleted by a clean. */
export const countExpired = (tables: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ count: number }>`SELECT count(*)::int AS count FROM ${sql(tables.tasks)} WHERE expires_at < now()`.withoutTransform
  ).pipe(Effect.map((rows) => rows[0]?.count ?? 0))
