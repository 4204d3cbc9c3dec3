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

/** One minute of the last hour: tasks that ended in it, and those that started in it with their mean wait. */
export interface MinuteView {
  readonly minute: Date
  readonly succeeded: number
  readonly failed: number
  readonly started: number
  /** Mean seconds from due to start of the attempts started in that minute; null when none started. */
  readonly meanWaitSeconds: number | null
}

/**
 * The last hour minute by minute (sixty rows, the current minute last): from the indexes of finish
 * and start times, over that hour's tasks only.
 */
export const lastHour = (tables: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const tasks = sql(tables.tasks)
    return sql<MinuteView>`
      WITH span AS (SELECT date_trunc('minute', now()) - interval '59 minutes' AS since)
      SELECT m.minute, coalesce(f.succeeded, 0)::int AS succeeded, coalesce(f.failed, 0)::int AS failed,
        coalesce(s.started, 0)::int AS started, s.wait::float8 AS "meanWaitSeconds"
      FROM span, generate_series(span.since, date_trunc('minute', now()), interval '1 minute') AS m(minute)
      LEFT JOIN (
        SELECT date_trunc('minute', finished_at) AS minute,
          count(*) FILTER (WHERE status = ${TaskStatus.succeeded}) AS succeeded,
          count(*) FILTER (WHERE status = ${TaskStatus.failed}) AS failed
        FROM ${tasks}, span
        -- The finished-tasks index's own condition, written as it is, so that index serves.
        WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at >= span.since GROUP BY 1
      ) AS f USING (minute)
      LEFT JOIN (
        SELECT date_trunc('minute', started_at) AS minute, count(*) AS started,
          avg(extract(epoch FROM started_at - run_at)) AS wait
        FROM ${tasks}, span WHERE started_at >= span.since GROUP BY 1
      ) AS s USING (minute)
      ORDER BY m.minute`.withoutTransform
  })
