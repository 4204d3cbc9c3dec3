import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import type { SchedulingPolicy } from "../../SchedulingPolicy.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/** How many of the latest starts the fair policy remembers to measure each group's recent share. */
export const recentStarts = 200

/** What the claim order needs to know about the claim. */
export interface OrderRequest {
  readonly keys: ReadonlyArray<string>
  readonly limit: number
  readonly policy: SchedulingPolicy
  /** Whether a `caps` CTE (free slots of limited queues) precedes: queues without a free slot are skipped. */
  readonly isLimited: boolean
}

/** Statuses as literals: the partial indexes' predicates must be provable in any plan. */
const initialized = `'${TaskStatus.initialized}'`

/**
 * The CTEs (ending with a comma) that define `runnable (id, queue, priority, run_at, turn)`: at
 * most a few times `limit` candidate rows, best first by `turn`, then priority and due order.
 * Bounded by the claim size, not by the backlog: a claim costs about the same with a hundred or a
 * million tasks waiting.
 */
export const runnableRows = (sql: SqlClient.SqlClient, tables: Tables, request: OrderRequest): Fragment => {
  const tasks = sql(tables.tasks)
  const wanted = request.limit * 4
  // A task this claimer may run now: due, a key it handles, not a child held by its parent's
  // attempt, nor one waiting for the sibling submitted before it to end.
  const isRunnable = sql`c.status = ${sql.literal(initialized)} AND c.held_by IS NULL
    AND c.run_at <= now() AND c.key = ANY(${request.keys}::text[])
    AND (c.after_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM ${tasks} AS before
      WHERE before.id = c.after_id AND before.status = ANY(${TaskStatus.unfinished}::text[])))`
  const hasFreeSlot = (queue: Fragment) =>
    request.isLimited ? sql`AND NOT EXISTS (SELECT 1 FROM caps WHERE caps.queue = ${queue} AND caps.free = 0)` : sql``

  if (request.policy._tag === "StrictPriority") {
    return sql`runnable AS (
      SELECT c.id, c.queue, c.priority, c.run_at, 1::float8 AS turn FROM ${tasks} AS c
      WHERE ${isRunnable} ${hasFreeSlot(sql`c.queue`)}
      ORDER BY c.priority DESC, c.run_at, c.id LIMIT ${wanted}
    ),`
  }

  const weighted = Object.entries(request.policy.weights)
  const weights = weighted.length === 0
    ? sql`SELECT NULL::text AS queue, 1 AS weight WHERE false`
    : sql`SELECT * FROM unnest(${weighted.map(([queue]) => queue)}::text[], ${weighted.map(([, weight]) => weight)}::int[])`
  const ofGroup = (group: string) =>
    sql`c.queue = ${sql(group)}.queue AND coalesce(c.owner, '') = ${sql(group)}.owner`
  const inClaimOrder = sql`ORDER BY c.priority DESC, c.run_at, c.id`
  // Fair shares between (queue, owner) groups; an owner is never '' (a CHECK), so coalescing NULL
  // to '' keeps groups apart and lets `tasks_group_idx` serve every look-up below.
  return sql`
    recent AS (
      SELECT latest.queue, coalesce(latest.owner, '') AS owner, count(*) AS starts FROM (
        SELECT queue, owner FROM ${tasks} WHERE started_at IS NOT NULL ORDER BY started_at DESC LIMIT ${recentStarts}
      ) AS latest GROUP BY 1, 2
    ),
    weights (queue, weight) AS (${weights}),
    -- Every group with waiting rows, one index probe each (a loose index scan).
    groups AS (
      (SELECT queue, coalesce(owner, '') AS owner FROM ${tasks}
       WHERE status = ${sql.literal(initialized)} AND held_by IS NULL ORDER BY 1, 2 LIMIT 1)
      UNION ALL
      SELECT later.queue, later.owner FROM groups, LATERAL (
        SELECT queue, coalesce(owner, '') AS owner FROM ${tasks}
        WHERE status = ${sql.literal(initialized)} AND held_by IS NULL
          AND (queue, coalesce(owner, '')) > (groups.queue, groups.owner)
        ORDER BY 1, 2 LIMIT 1
      ) AS later
    ),
    -- The groups whose first runnable task has the best turn: (recent starts + 1) / weight. The
    -- best \`limit\` rows overall come from the best \`limit\` groups, so a few times that is plenty.
    chosen AS (
      SELECT groups.queue, groups.owner, coalesce(recent.starts, 0) AS starts, coalesce(weights.weight, 1) AS weight
      FROM groups
      LEFT JOIN recent ON recent.queue = groups.queue AND recent.owner = groups.owner
      LEFT JOIN weights ON weights.queue = groups.queue
      CROSS JOIN LATERAL (
        SELECT c.priority, c.run_at, c.id FROM ${tasks} AS c
        WHERE ${isRunnable} AND ${ofGroup("groups")} ${inClaimOrder} LIMIT 1
      ) AS first
      WHERE true ${hasFreeSlot(sql`groups.queue`)}
      ORDER BY (coalesce(recent.starts, 0) + 1)::float8 / coalesce(weights.weight, 1), first.priority DESC, first.run_at, first.id
      LIMIT ${wanted}
    ),
    -- The n-th runnable task of a group has the turn (recent starts + n) / weight.
    runnable AS (
      SELECT c.id, c.queue, c.priority, c.run_at,
        (chosen.starts + row_number() OVER (PARTITION BY chosen.queue, chosen.owner ${inClaimOrder}))::float8 / chosen.weight AS turn
      FROM chosen CROSS JOIN LATERAL (
        SELECT c.id, c.queue, c.priority, c.run_at FROM ${tasks} AS c
        WHERE ${isRunnable} AND ${ofGroup("chosen")} ${inClaimOrder} LIMIT ${request.limit}
      ) AS c
    ),`
}
