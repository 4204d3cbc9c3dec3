import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Either, Option, ParseResult, Predicate, Schema } from "effect"
import type { SchedulingPolicy } from "../../SchedulingPolicy.js"
import * as TaskStatus from "../../TaskStatus.js"
import { runnableRows } from "./claimOrder.js"
import type { Tables } from "./tables.js"
import { isUnfinished } from "./waits.js"
import { finishIfClaimed } from "./finish.js"
import { ClaimedTask, claimedColumns } from "./taskRow.js"

/** What a worker asks for when it claims. */
export interface ClaimRequest {
  /** Only tasks with these keys (the ones this process has handlers for). */
  readonly keys: ReadonlyArray<string>
  /** The attempt timeout of each key, in the order of `keys`: the attempt's deadline is now() + timeout + `deadlineGrace`. */
  readonly timeouts: ReadonlyArray<Duration.Duration>
  readonly deadlineGrace: Duration.Duration
  /** At most this many (the free slots of the pool). */
  readonly limit: number
  /** Written to `claimed_by`, so an operator sees who runs what. */
  readonly nodeId: string
  /** The claim's lease, renewed by the node's heartbeat: `lease_expires_at = now() + leaseDuration`. */
  readonly leaseDuration: Duration.Duration
  /** Which runnable tasks come first. */
  readonly policy: SchedulingPolicy
  /**
   * What the claimer last read of the queues' concurrency limits (`readQueueLimits`). With it the
   * claim saves that read, and its statement claims nothing while limits it was not told of exist:
   * a claim that comes back short is the claimer's cue to read them again. Without it, the claim
   * reads them first.
   */
  readonly limits?: QueueLimits | undefined
}

/** Whether some queue has a concurrency limit, and whether one spans all nodes. */
export interface QueueLimits {
  readonly isLimited: boolean
  readonly isGlobal: boolean
}

/**
 * Whether some queue has a concurrency limit, and whether one spans all nodes: claims leave the
 * limits' work out while there are none.
 */
export const readQueueLimits = (tables: Tables): Effect.Effect<QueueLimits, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ limited: number; global: number }>`
      SELECT count(*)::int AS limited, count(concurrency)::int AS global FROM ${sql(tables.queues)}
      WHERE concurrency IS NOT NULL OR node_concurrency IS NOT NULL`.withoutTransform
    return { isLimited: (rows[0]?.limited ?? 0) > 0, isGlobal: (rows[0]?.global ?? 0) > 0 }
  })

/** A claimer that stalls holding the claim lock (a blocked event loop, a lost network) lets go after this. */
const claimLockIdleTimeout = "5s"

/**
 * Claims up to `limit` runnable tasks in the policy's order (see `claimOrder.ts`). `FOR UPDATE SKIP
 * LOCKED` makes concurrent claimers take disjoint rows without waiting on each other; each claimed
 * row gets a fresh claim token, which every later write of its attempt must present, a lease the
 * node's heartbeat renews, and a hard deadline that holds even if the node hangs.
 *
 * Concurrency limits: a limited queue's free slots are its limits minus its running tasks (all of
 * them for `concurrency`, this node's for `node_concurrency`). Claimers counting at once could
 * both take the last slot, so while some queue has a limit across nodes, claims take turns on an
 * advisory lock and claim in a statement after it: under READ COMMITTED (set explicitly, whatever
 * the database's default) that statement's snapshot sees every claim committed before, so it both
 * counts right and chooses among rows nobody has taken. Per-node limits need no lock (a node has
 * one claimer).
 */
export const claim = (tables: Tables, request: ClaimRequest) =>
  Effect.gen(function*() {
    if (request.keys.length === 0 || request.limit < 1) return []
    const sql = yield* SqlClient.SqlClient
    const limits = request.limits ?? (yield* readQueueLimits(tables))
    if (!limits.isLimited) return yield* claimStatement(tables, request, limits)
    return yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SET TRANSACTION ISOLATION LEVEL READ COMMITTED`
      // The planner guesses a never-analysed queue table large, and would JIT-compile the counts.
      yield* sql`SELECT set_config('jit', 'off', true),
        set_config('idle_in_transaction_session_timeout', ${claimLockIdleTimeout}, true)
        ${limits.isGlobal ? sql`, pg_advisory_xact_lock(hashtext(${`${tables.queues} concurrency`}))` : sql``}`
      return yield* claimStatement(tables, request, limits)
    }))
  })

/** A status as a literal: the partial indexes' predicates must be provable in any plan. */
const runningLiteral = `'${TaskStatus.running}'`

const claimStatement = (tables: Tables, request: ClaimRequest, limits: QueueLimits) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tasks = sql(tables.tasks)
    const isLimited = limits.isLimited
    // Limits the claimer was not told of (defined since it read them): claim nothing, so that it
    // reads them again. A cluster-wide limit needs the lock taken before this statement.
    const unknownLimits = !limits.isLimited
      ? sql`AND NOT EXISTS (SELECT 1 FROM ${sql(tables.queues)} WHERE concurrency IS NOT NULL OR node_concurrency IS NOT NULL)`
      : !limits.isGlobal
      ? sql`AND NOT EXISTS (SELECT 1 FROM ${sql(tables.queues)} WHERE concurrency IS NOT NULL)`
      : sql``
    const caps = isLimited
      ? sql`SELECT q.name, GREATEST(0, LEAST(
          q.concurrency - (SELECT count(*) FROM ${tasks} AS r WHERE r.status = ${sql.literal(runningLiteral)} AND r.queue = q.name),
          q.node_concurrency - (SELECT count(*) FROM ${tasks} AS r
            WHERE r.status = ${sql.literal(runningLiteral)} AND r.queue = q.name AND r.claimed_by = ${request.nodeId})
        ))::bigint
        FROM ${sql(tables.queues)} AS q WHERE q.concurrency IS NOT NULL OR q.node_concurrency IS NOT NULL`
      : sql`SELECT NULL::text, NULL::bigint WHERE false`
    // Within a limited queue, only as many candidates as it has free slots, the first in claim order.
    const allowed = isLimited
      ? sql`allowed AS (
          SELECT runnable.* FROM (
            SELECT runnable.*, row_number() OVER (PARTITION BY queue ORDER BY turn, priority DESC, run_at, id) AS place
            FROM runnable
          ) AS runnable LEFT JOIN caps ON caps.queue = runnable.queue
          WHERE caps.free IS NULL OR runnable.place <= caps.free
        ),`
      : sql`allowed AS (SELECT * FROM runnable),`
    return yield* sql`
      WITH RECURSIVE caps (queue, free) AS MATERIALIZED (${caps}),
      ${runnableRows(sql, tables, { keys: request.keys, limit: request.limit, policy: request.policy, isLimited })}
      ${allowed}
      candidates AS (
        SELECT id, turn, priority, run_at FROM allowed ORDER BY turn, priority DESC, run_at, id LIMIT ${request.limit * 4}
      ),
      next AS (
        -- The tests are repeated on the locked row: a row another claimer took since this
        -- statement's snapshot is re-read when locked, and must then drop out
        SELECT t.id FROM ${tasks} AS t JOIN candidates ON candidates.id = t.id
        -- (run_at too: a task that failed and got a retry delay since then is not due).
        WHERE t.status = ${TaskStatus.initialized} AND t.held_by IS NULL AND t.waiting_for IS NULL AND t.run_at <= now()
          -- A backstop for children chained without waiting_for (by an older version during an
          -- upgrade): their previous sibling must have ended. At most a few primary-key probes.
          AND (t.after_id IS NULL OR NOT ${isUnfinished(sql, tables, sql`t.after_id`)})
          ${unknownLimits}
        ORDER BY candidates.turn, candidates.priority DESC, candidates.run_at, candidates.id
        LIMIT ${request.limit}
        FOR UPDATE OF t SKIP LOCKED
      ),
      claimed AS (
      UPDATE ${tasks} AS t SET
        status = ${TaskStatus.running},
        attempt = t.attempt + 1,
        claim_token = gen_random_uuid(),
        claimed_by = ${request.nodeId},
        lease_expires_at = now() + ${Duration.toMillis(request.leaseDuration)} * interval '1 millisecond',
        deadline_at = now() + (timeouts.millis + ${Duration.toMillis(request.deadlineGrace)}) * interval '1 millisecond',
        -- The statement's own start, not its transaction's: with limits, the transaction began
        -- before the lock, and a start must not read earlier than the ends this statement counted.
        started_at = statement_timestamp(),
        updated_at = now()
      FROM next, unnest(${request.keys}::text[], ${request.timeouts.map(Duration.toMillis)}::float8[]) AS timeouts(key, millis)
      WHERE t.id = next.id AND timeouts.key = t.key
      RETURNING ${sql.literal(claimedColumns)}
      )
      -- In claim order (RETURNING follows no order): the worker starts the tasks in this order.
      SELECT claimed.* FROM claimed JOIN candidates ON candidates.id = claimed.id::bigint
      ORDER BY candidates.turn, candidates.priority DESC, candidates.run_at, candidates.id`.withoutTransform
  })

const decodeClaimed = Schema.decodeUnknownEither(ClaimedTask)

/**
 * Claims, then decodes each row on its own. A malformed row (a column edited by hand, a constraint
 * dropped) fails that one task with the reason recorded, under its claim token; it never fails the
 * claim of the others or stops the worker. A row without even an id and a token cannot be fenced:
 * it is left to lapse and be rescued (and failed as poison if it keeps coming back).
 */
export const claimDecoded = (tables: Tables, request: ClaimRequest) =>
  Effect.gen(function*() {
    const rows = yield* claim(tables, request)
    const claimed: Array<ClaimedTask> = []
    for (const row of rows) {
      const decoded = decodeClaimed(row)
      if (Either.isRight(decoded)) {
        claimed.push(decoded.right)
        continue
      }
      const issue = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
      const id = Predicate.hasProperty(row, "id") && typeof row.id === "string" ? row.id : undefined
      const token = Predicate.hasProperty(row, "claimToken") && typeof row.claimToken === "string" ? row.claimToken : undefined
      yield* Effect.logError("claimed a malformed task row; failing that task", { taskId: id, issue })
      if (id === undefined || token === undefined) continue
      // Failing to record it must not strand the well-formed rows of this claim: it will lapse instead.
      yield* finishIfClaimed(tables, [{
        id,
        claimToken: token,
        status: TaskStatus.failed,
        delayMillis: 0,
        error: `malformed task row, not run:\n${issue}`,
        countsAsAttempt: true,
        keepsChildren: false, result: null
      }]).pipe(Effect.catchAll((error) => Effect.logError("could not record the malformed row's failure", error)))
    }
    return claimed
  })

/** How long until the earliest task with one of these keys that is waiting but not yet due becomes due. */
export const nextDue = (tables: Tables, keys: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (keys.length === 0) return Option.none<Duration.Duration>()
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ millis: number | null }>`
      SELECT (extract(epoch FROM min(run_at) - now()) * 1000)::float8 AS millis FROM ${sql(tables.tasks)}
      WHERE status = ${TaskStatus.initialized} AND run_at > now() AND held_by IS NULL AND waiting_for IS NULL
        AND key = ANY(${keys}::text[])`.withoutTransform
    const millis = rows[0]?.millis
    return millis === null || millis === undefined ? Option.none<Duration.Duration>() : Option.some(Duration.millis(millis))
  })
