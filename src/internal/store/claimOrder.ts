import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import type { SchedulingPolicy } from "../../SchedulingPolicy.js"
import * as TaskStatus from "../../TaskStatus.js"
import type { Tables } from "./tables.js"

/**
 * The fair policy measures each group's share over the latest starts: at least this many, and at
 * least twice the total weight of the groups waiting, so that every group served in the last
 * round or two is remembered; at most `maxRecentStarts`.
 */
export const minRecentStarts = 200
export const maxRecentStarts = 50_000

/** What the claim order needs to know about the claim. */
export interface OrderRequest {
  readonly keys: ReadonlyArray<string>
  readonly limit: number
  readonly policy: SchedulingPolicy
  /** Whether some queue has a concurrency limit: then `caps (queue, free)` precedes and is applied. */
  readonly isLimited: boolean
}

/** Statuses as literals: the partial indexes' predicates must be provable in any plan. */
const initialized = `'${TaskStatus.initialized}'`

/**
 * The CTEs (each followed by a comma) that define `runnable (id, queue, priority, run_at, turn)`:
 * at most a few times `limit` candidate rows, best first by `turn`, then priority and due order,
 * already within every limited queue's free slots. Bounded by the claim size and the number of
 * (queue, owner) groups waiting, not by the backlog.
 */
export const runnableRows = (sql: SqlClient.SqlClient, tables: Tables, request: OrderRequest): Fragment => {
  const tasks = sql(tables.tasks)
  const wanted = request.limit * 4
  // A task this claimer may run now: due, a key it handles, not a child held by its parent's
  // attempt, nor one waiting for the sibling submitted before it to end.
  const isRunnable = sql`c.status = ${sql.literal(initialized)} AND c.held_by IS NULL AND c.waiting_for IS NULL
    AND c.run_at <= now() AND c.key = ANY(${request.keys}::text[])`
  const inClaimOrder = sql`ORDER BY c.priority DESC, c.run_at, c.id`

  // Strict priority with no limits to respect: the runnable index, read in order.
  if (request.policy._tag === "StrictPriority" && !request.isLimited) {
    return sql`runnable AS (
      SELECT c.id, c.queue, c.priority, c.run_at, 1::float8 AS turn FROM ${tasks} AS c
      WHERE ${isRunnable} ${inClaimOrder} LIMIT ${wanted}
    ),`
  }

  const isFair = request.policy._tag === "Fair"
  const weighted = request.policy._tag === "Fair" ? Object.entries(request.policy.weights) : []
  const weights = weighted.length === 0
    ? sql`SELECT NULL::text, 1 WHERE false`
    : sql`SELECT * FROM unnest(${weighted.map(([queue]) => queue)}::text[], ${weighted.map(([, weight]) => weight)}::int[])`
  const recent = isFair
    ? sql`SELECT latest.queue, coalesce(latest.owner, '') AS owner, count(*) AS starts FROM (
        SELECT queue, owner FROM ${tasks} WHERE started_at IS NOT NULL ORDER BY started_at DESC
        LIMIT (SELECT least(${maxRecentStarts}, greatest(${minRecentStarts}, 2 * sum(coalesce(weights.weight, 1))))::int
               FROM groups LEFT JOIN weights ON weights.queue = groups.queue)
      ) AS latest GROUP BY 1, 2`
    : sql`SELECT NULL::text, NULL::text, 0::bigint WHERE false`
  // An owner is never '' (a CHECK), so coalescing NULL to '' keeps groups apart and lets
  // `tasks_group_idx` serve every look-up by group.
  const ofGroup = (group: "groups" | "chosen") =>
    sql`c.queue = ${sql.literal(group)}.queue AND coalesce(c.owner, '') = ${sql.literal(group)}.owner`
  return sql`
    weights (queue, weight) AS (${weights}),
    -- Every group with waiting rows, one index probe each (a loose index scan).
    groups AS (
      (SELECT queue, coalesce(owner, '') AS owner FROM ${tasks}
       WHERE status = ${sql.literal(initialized)} AND held_by IS NULL AND waiting_for IS NULL ORDER BY 1, 2 LIMIT 1)
      UNION ALL
      SELECT later.queue, later.owner FROM groups, LATERAL (
        SELECT queue, coalesce(owner, '') AS owner FROM ${tasks}
        WHERE status = ${sql.literal(initialized)} AND held_by IS NULL AND waiting_for IS NULL
          AND (queue, coalesce(owner, '')) > (groups.queue, groups.owner)
        ORDER BY 1, 2 LIMIT 1
      ) AS later
    ),
    recent (queue, owner, starts) AS (${recent}),
    -- Each group's first runnable task and its turn: (recent starts + 1) / weight under the fair
    -- policy, 1 under strict priority. Queues without a free slot are left out.
    firsts AS (
      SELECT groups.queue, groups.owner, coalesce(recent.starts, 0) AS starts, coalesce(weights.weight, 1) AS weight,
        caps.free, first.priority, first.run_at, first.id,
        ${isFair ? sql`(coalesce(recent.starts, 0) + 1)::float8 / coalesce(weights.weight, 1)` : sql`1::float8`} AS turn
      FROM groups
      LEFT JOIN recent ON recent.queue = groups.queue AND recent.owner = groups.owner
      LEFT JOIN weights ON weights.queue = groups.queue
      LEFT JOIN caps ON caps.queue = groups.queue
      CROSS JOIN LATERAL (
        SELECT c.priority, c.run_at, c.id FROM ${tasks} AS c WHERE ${isRunnable} AND ${ofGroup("groups")} ${inClaimOrder} LIMIT 1
      ) AS first
      WHERE caps.free IS NULL OR caps.free > 0
    ),
    -- The best groups: the best \`limit\` rows overall lie in the best \`limit\` groups (and, in a
    -- limited queue, in its best \`free\` groups), so a few times that many lose nothing.
    chosen AS (
      SELECT * FROM (
        SELECT firsts.*, row_number() OVER (PARTITION BY queue ORDER BY turn, priority DESC, run_at, id) AS queue_place
        FROM firsts
      ) AS ranked_groups
      WHERE free IS NULL OR queue_place <= free
      ORDER BY turn, priority DESC, run_at, id LIMIT ${wanted}
    ),
    -- The n-th runnable task of a chosen group has the turn (recent starts + n) / weight. Up to
    -- \`limit\` of each, more when there are few groups: spares for the rows other claimers lock.
    runnable AS (
      SELECT c.id, c.queue, c.priority, c.run_at,
        ${
    isFair
      ? sql`(chosen.starts + row_number() OVER (PARTITION BY chosen.queue, chosen.owner ${inClaimOrder}))::float8 / chosen.weight`
      : sql`1::float8`
  } AS turn
      FROM chosen CROSS JOIN LATERAL (
        SELECT c.id, c.queue, c.priority, c.run_at FROM ${tasks} AS c WHERE ${isRunnable} AND ${ofGroup("chosen")}
        ${inClaimOrder}
        LIMIT least(coalesce(chosen.free, ${wanted}), greatest(${request.limit}, ceil(${wanted}::float8 / (SELECT count(*) FROM chosen))))
      ) AS c
    ),`
}
