import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"
import { rowColumns } from "./taskRow.js"

/** The filter fields that `TaskAdmin.list` takes as they are stored. */
export interface FilterFields {
  readonly queue?: string | undefined
  readonly owner?: string | undefined
  readonly parentId?: string | undefined
  readonly rootId?: string | undefined
  readonly uniqueKey?: string | undefined
  readonly createdAfter?: Date | undefined
  readonly createdBefore?: Date | undefined
  readonly finishedAfter?: Date | undefined
  readonly finishedBefore?: Date | undefined
}

/** Which tasks `list` and `count` look at: every field given must hold (all of them: AND). */
export interface Filter extends FilterFields {
  readonly status?: ReadonlyArray<TaskStatus.TaskStatus> | undefined
  readonly key?: ReadonlyArray<string> | undefined
  /** JSON text the stored arguments must contain (`args @> $json`). */
  readonly args?: string | undefined
}

/** One page of `list`: newest or oldest first, after the cursor (an id) of the previous page. */
export interface Page {
  readonly limit: number
  readonly order: "newest" | "oldest"
  readonly after?: string | undefined
}

/** The filter as SQL conditions on `t`, joined by AND (`TRUE` when empty). */
const conditions = (sql: SqlClient.SqlClient, filter: Filter): Fragment => {
  const all: Array<Fragment> = []
  if (filter.status !== undefined) all.push(sql`t.status = ANY(${filter.status}::text[])`)
  if (filter.key !== undefined) all.push(sql`t.key = ANY(${filter.key}::text[])`)
  if (filter.queue !== undefined) all.push(sql`t.queue = ${filter.queue}`)
  if (filter.owner !== undefined) all.push(sql`t.owner = ${filter.owner}`)
  if (filter.parentId !== undefined) all.push(sql`t.parent_id = ${filter.parentId}::bigint`)
  if (filter.rootId !== undefined) all.push(sql`t.root_id = ${filter.rootId}::bigint`)
  if (filter.uniqueKey !== undefined) all.push(sql`t.unique_key = ${filter.uniqueKey}`)
  if (filter.createdAfter !== undefined) all.push(sql`t.created_at >= ${filter.createdAfter}`)
  if (filter.createdBefore !== undefined) all.push(sql`t.created_at < ${filter.createdBefore}`)
  if (filter.finishedAfter !== undefined) all.push(sql`t.finished_at >= ${filter.finishedAfter}`)
  if (filter.finishedBefore !== undefined) all.push(sql`t.finished_at < ${filter.finishedBefore}`)
  if (filter.args !== undefined) all.push(sql`t.args @> ${filter.args}::jsonb`)
  return all.length === 0 ? sql`TRUE` : sql.and(all)
}

/**
 * One page of the tasks that match, by id (keyset pagination: stable under inserts, no OFFSET):
 * newest first (ids below `after`) or oldest first (ids above it).
 */
export const list = (tables: Tables, filter: Filter, page: Page) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const newest = page.order === "newest"
    const after = page.after === undefined ? sql`TRUE` : newest ? sql`t.id < ${page.after}::bigint` : sql`t.id > ${page.after}::bigint`
    return yield* sql`
      SELECT ${sql.literal(rowColumns)} FROM ${sql(tables.tasks)} AS t
      WHERE ${conditions(sql, filter)} AND ${after}
      ORDER BY t.id ${sql.literal(newest ? "DESC" : "ASC")} LIMIT ${page.limit}`.withoutTransform
  })

/** How many tasks match (an exact count: it reads every match). */
export const count = (tables: Tables, filter: Filter) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: string }>`
      SELECT count(*)::text AS n FROM ${sql(tables.tasks)} AS t WHERE ${conditions(sql, filter)}`.withoutTransform
    return Number(rows[0]?.n ?? 0)
  })

/** Per queue: unfinished tasks by status, the oldest due waiting one's age, and tasks ended in the last hour. */
export interface QueueStats {
  readonly queue: string
  readonly waiting: number
  readonly paused: number
  readonly running: number
  /** Seconds since the oldest due `initialized` task fell due; 0 when none is. */
  readonly oldestWaitingSeconds: number
  readonly succeededLastHour: number
  readonly failedLastHour: number
  readonly canceledLastHour: number
}

/** Per queue with unfinished tasks: how many wait, are paused and run, and the oldest due wait. */
export type QueueDepth = Pick<QueueStats, "queue" | "waiting" | "paused" | "running" | "oldestWaitingSeconds">

/** The unfinished tasks per queue, from the index of unfinished tasks (a grouped scan of it). */
const depthsOf = (sql: SqlClient.SqlClient, tables: Tables) =>
  sql`SELECT queue,
      count(*) FILTER (WHERE status = ${TaskStatus.initialized})::int AS waiting,
      count(*) FILTER (WHERE status = ${TaskStatus.paused})::int AS paused,
      count(*) FILTER (WHERE status = ${TaskStatus.running})::int AS running,
      coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE status = ${TaskStatus.initialized} AND run_at <= now())), 0)::float8
        AS "oldestWaitingSeconds"
    FROM ${sql(tables.tasks)} WHERE status IN ('initialized', 'paused', 'running') GROUP BY queue`

/** The metrics' view of the queues (`QueueDepth`), in queue order: one statement, unfinished tasks only. */
export const depths = (tables: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<QueueDepth>`SELECT * FROM (${depthsOf(sql, tables)}) AS unfinished ORDER BY queue`.withoutTransform)

/**
 * The operator's overview, from the indexes of unfinished tasks and of recently finished ones:
 * it reads the unfinished tasks and the last hour's finished ones, never the whole history.
 */
export const stats = (tables: Tables) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    return yield* sql<QueueStats>`
      WITH unfinished AS (${depthsOf(sql, tables)}),
      recent AS (
        SELECT queue,
          count(*) FILTER (WHERE status = ${TaskStatus.succeeded})::int AS succeeded,
          count(*) FILTER (WHERE status = ${TaskStatus.failed})::int AS failed,
          count(*) FILTER (WHERE status = ${TaskStatus.canceled})::int AS canceled
        FROM ${tasks} WHERE status IN ('succeeded', 'failed', 'canceled') AND finished_at >= now() - interval '1 hour'
        GROUP BY queue
      )
      SELECT coalesce(u.queue, r.queue) AS queue,
        coalesce(u.waiting, 0) AS waiting, coalesce(u.paused, 0) AS paused, coalesce(u.running, 0) AS running,
        coalesce(u."oldestWaitingSeconds", 0) AS "oldestWaitingSeconds",
        coalesce(r.succeeded, 0) AS "succeededLastHour", coalesce(r.failed, 0) AS "failedLastHour",
        coalesce(r.canceled, 0) AS "canceledLastHour"
      FROM unfinished AS u FULL JOIN recent AS r ON r.queue = u.queue
      ORDER BY 1`.withoutTransform
  })
